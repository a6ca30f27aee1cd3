/**
 * OpenAI's wire format, free of HTTP and Pekko: request parsing and the JSON bodies of answers.
 *
 * <ul>
 *   <li>{@link dev.baton.router.api.openai.RequestParser} — a request body to a type-checked {@code CompletionRequest}.</li>
 *   <li>{@link dev.baton.router.api.openai.RequestLimits} — the router's limits on a request's fields
 *       ({@code baton.router.limits}).</li>
 *   <li>{@link dev.baton.router.api.openai.CompletionRequest} — a completion or chat request before tokenization.</li>
 *   <li>{@link dev.baton.router.api.openai.OpenAiJson} — answers, stream chunks, the model list, error bodies.</li>
 *   <li>{@link dev.baton.router.api.openai.ApiError} — an error answer: HTTP status, type, message, param, code.</li>
 *   <li>{@link dev.baton.router.api.openai.ApiException} — carries an {@code ApiError} to the code that answers.</li>
 * </ul>
 */
package dev.baton.router.api.openai;
