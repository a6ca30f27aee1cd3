/**
 * The router: OpenAI-compatible HTTP API (Pekko HTTP), admission, routing policy, cluster view and
 * the SLO planner. Uses only the tokenizer side of the engine (tokenizer, chat, gguf, sampling).
 *
 * <ul>
 *   <li>{@code dev.baton.router.api} — the HTTP API and the backend interface it calls.</li>
 *   <li>{@code dev.baton.router.api.openai} — OpenAI's request and answer formats.</li>
 * </ul>
 */
package dev.baton.router;
