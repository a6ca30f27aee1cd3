/**
 * The step API: the seam between a scheduler and the model (docs/design.md §4).
 *
 * <ul>
 *   <li>{@link dev.baton.engine.step.StepBatch}: a flat batch of tokens from many sequences, prefill chunks and decode tokens mixed.</li>
 *   <li>{@link dev.baton.engine.step.ForwardPass}: one deterministic forward pass over a batch; logits only where asked.</li>
 *   <li>{@code PagedAttention}: causal attention over paged KV spread over the threads; split-K (fixed chunks of 256 positions, merged in order) past 256 positions.</li>
 * </ul>
 */
package dev.baton.engine.step;
