package dev.baton.router.api.openai;

import dev.baton.engine.sampling.SamplingParams;

/**
 * The per-request limits a router sets on a request's fields ({@code baton.router.limits}, read and
 * validated by {@code RouterSettings}), each at most the engine's own limit in {@link SamplingParams}.
 * A request over one is refused with a 400 whose {@code param} names the field and whose message names
 * the limit and its value. Immutable; the ranges are checked by {@code RouterSettings.validate()}.
 *
 * @param maxPromptTokens    most prompt tokens (after the chat template and tokenization); 0: the model's
 *                           context (less one token to generate)
 * @param maxTokens          largest {@code max_tokens} (or {@code max_completion_tokens}), and the cap of the
 *                           default a chat request gets; 0: the room the prompt leaves in the context
 * @param maxStopStrings     most {@code stop} strings, 0 to {@link SamplingParams#MAX_STOP_STRINGS}
 * @param maxStopStringChars longest {@code stop} string in UTF-16 chars, 1 to {@link SamplingParams#MAX_STOP_STRING_CHARS}
 * @param maxLogprobs        largest {@code logprobs} (completions) or {@code top_logprobs} (chat), 0 to
 *                           {@link SamplingParams#MAX_LOGPROBS}
 */
public record RequestLimits(int maxPromptTokens, int maxTokens, int maxStopStrings, int maxStopStringChars,
        int maxLogprobs) {

    /** No limit of the router's own: the model's context and the engine's limits. */
    public static final RequestLimits ENGINE = new RequestLimits(0, 0, SamplingParams.MAX_STOP_STRINGS,
            SamplingParams.MAX_STOP_STRING_CHARS, SamplingParams.MAX_LOGPROBS);

    /** The value of {@code n} (and {@code best_of}) every request must have: one choice per request. */
    public static final int N = 1;
}
