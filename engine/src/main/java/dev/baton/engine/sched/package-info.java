/**
 * Scheduling requests onto the engine.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.sched.EngineLoop}: continuous batching; admission by KV capacity; decode tokens and prefill chunks mixed.</li>
 *   <li>{@link dev.baton.engine.sched.GenerationRequest}: prompt ids and sampling of one request.</li>
 *   <li>{@link dev.baton.engine.sched.GenerationListener}: a request's output, called on the loop thread.</li>
 *   <li>{@link dev.baton.engine.sched.LoopSettings}: scheduling limits.</li>
 * </ul>
 */
package dev.baton.engine.sched;
