/**
 * The step API: the seam between a scheduler and the model (docs/design.md §4).
 *
 * <ul>
 *   <li>{@link dev.baton.engine.step.StepBatch}: a flat batch of tokens from many sequences, prefill chunks and decode tokens mixed.</li>
 *   <li>{@link dev.baton.engine.step.ForwardPass}: one deterministic forward pass over a batch; logits only where asked.</li>
 * </ul>
 */
package dev.baton.engine.step;
