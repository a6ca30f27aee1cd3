/**
 * Speculative decoding: where draft tokens come from (docs/design.md §4). The engine loop verifies the
 * drafts in one forward pass of the target model and keeps the longest accepted prefix.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.spec.Drafter}: proposes up to k tokens that may follow a sequence.</li>
 *   <li>{@link dev.baton.engine.spec.PromptLookup}: n-gram drafts from the sequence's own prompt and answer.</li>
 *   <li>{@link dev.baton.engine.spec.SpeculationSettings}: {@code baton.engine.speculation}, parsed and checked.</li>
 * </ul>
 */
package dev.baton.engine.spec;
