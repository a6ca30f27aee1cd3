/**
 * The router's admission control: whether a request is taken, decided before it is dispatched.
 *
 * <ul>
 *   <li>{@link dev.baton.router.admission.AdmissionControl}: the decisions (per-key limits, router-wide bounds
 *       in requests, prompt tokens and KV positions, predicted TTFT) and the tickets of admitted requests.</li>
 *   <li>{@link dev.baton.router.admission.AdmissionSettings}: {@code baton.router.admission}, validated.</li>
 *   <li>{@link dev.baton.router.admission.TokenBucket}: the per-key rate limits.</li>
 *   <li>{@link dev.baton.router.admission.TtftPredictor}: queued prompt tokens over measured prefill speed.</li>
 * </ul>
 */
package dev.baton.router.admission;
