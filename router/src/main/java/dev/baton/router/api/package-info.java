/**
 * The router's OpenAI-compatible HTTP API (docs/design.md §7) on Pekko HTTP, and the small backend
 * interface it calls. Public: the entry point, its settings and the backend SPI; the rest is
 * package-private.
 *
 * <ul>
 *   <li>{@link dev.baton.router.api.RouterHttpServer} — binds the API on a caller's actor system; its {@code Binding} stops it.</li>
 *   <li>{@link dev.baton.router.api.RouterSettings} — {@code baton.router} settings, validated once.</li>
 *   <li>{@link dev.baton.router.api.RouterConfigException} — a setting missing or out of range.</li>
 *   <li>{@link dev.baton.router.api.GenerationBackend} — what runs requests (the cluster; an engine loop in tests).</li>
 *   <li>{@link dev.baton.router.api.BackendListener} — a request's output from the backend.</li>
 *   <li>{@link dev.baton.router.api.SubmitResult} — accepted, overloaded, unavailable or rejected.</li>
 *   <li>{@link dev.baton.router.api.Readiness} — whether the backend can serve, and why not.</li>
 *   <li>{@link dev.baton.router.api.ModelCard} — the served model: id, context, tokenizer, chat template.</li>
 *   <li>{@code ApiRoutes} — the route tree: auth, endpoints, errors, per-answer metrics.</li>
 *   <li>{@code CompletionEndpoint} — the two completion endpoints: parse, prepare, submit, answer.</li>
 *   <li>{@code RequestPreparer} — model check, chat template, tokenization, context fit, sampling validation.</li>
 *   <li>{@code GenerationRun} — one accepted request: listener to bounded stream queue, timeout, cancellation.</li>
 *   <li>{@code AnswerWriter} — SSE frames or the whole answer from a run's events.</li>
 *   <li>{@code HttpAnswers} — JSON, error and event-stream HTTP responses.</li>
 *   <li>{@code ApiMetrics} — the API's Micrometer meters.</li>
 *   <li>{@code Endpoint} — the endpoints as a metrics tag.</li>
 * </ul>
 */
package dev.baton.router.api;
