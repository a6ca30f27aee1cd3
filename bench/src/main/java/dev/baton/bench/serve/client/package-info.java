/**
 * The HTTP side of the serving benchmark: streamed requests to any OpenAI-compatible endpoint.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.client.OpenAiClient}: sends one streamed completions or chat request and
 *       time-stamps each content chunk; failures come back classified, never thrown.</li>
 *   <li>{@link dev.baton.bench.serve.client.StreamChunk}: one parsed {@code data:} event (text, usage, error).</li>
 *   <li>{@link dev.baton.bench.serve.client.Target}: a base URL with its name, model, node count and key.</li>
 *   <li>{@link dev.baton.bench.serve.client.ClientOptions}: {@code ignore_eos}, extra body fields, time limits.</li>
 * </ul>
 */
package dev.baton.bench.serve.client;
