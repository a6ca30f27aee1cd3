/**
 * Scheduling requests onto the engine.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.sched.EngineLoop}: continuous batching; admission by KV capacity; decode tokens and prefill chunks mixed.</li>
 *   <li>{@link dev.baton.engine.sched.GenerationRequest}: prompt ids and sampling of one request.</li>
 *   <li>{@link dev.baton.engine.sched.GenerationListener}: a request's output, called on the loop thread.</li>
 *   <li>{@link dev.baton.engine.sched.LoopSettings}: scheduling limits.</li>
 *   <li>{@code PrefixReuse} (package-private): node-local prefix reuse, the loop's one seam to the pool's prefix
 *       cache: adopt cached prompt blocks, read blocks back from a second tier, claim, wait, recompute abandoned
 *       blocks, publish.</li>
 *   <li>{@code TierLink} (package-private): the link to a second KV tier (the host tier): spills evicted blocks,
 *       reads blocks back, counts both, drops a tier that fails.</li>
 *   <li>{@code LoopMetrics} (package-private): the loop's Micrometer meters.</li>
 * </ul>
 */
package dev.baton.engine.sched;
