/**
 * The inference engine: one model, its KV block pool and forward pass (docs/design.md §4).
 *
 * <ul>
 *   <li>{@link dev.baton.engine.Engine}: a loaded model with tokenizer, chat template, pool and forward pass; KV export/import.</li>
 *   <li>{@link dev.baton.engine.EngineSettings}: validated settings, from {@code baton.engine} config.</li>
 *   <li>{@link dev.baton.engine.Generator}: the single-sequence generate loop (prefill, decode, sampling, stops).</li>
 *   <li>{@link dev.baton.engine.EngineException}, {@link dev.baton.engine.PromptTooLongException}: typed errors.</li>
 * </ul>
 */
package dev.baton.engine;
