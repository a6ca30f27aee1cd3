package dev.baton.common.protocol;

import dev.baton.common.RequestId;

/**
 * What a node streams back to the router for one request. Exactly one {@link Finished} or
 * {@link Failed} ends every request the node accepted.
 */
public sealed interface GenerationEvent extends CborSerializable {

    RequestId requestId();

    /** The prompt is processed; {@code cachedTokens} of it were reused from the prefix cache. */
    record Prefilled(RequestId requestId, int promptTokens, int cachedTokens) implements GenerationEvent {}

    /**
     * Generated tokens, in order, and the text they completed (possibly empty). {@code index} is the
     * position of the first of them in the completion (0 for the first token): a disaggregated
     * request's first token comes from the prefill node and the rest from the decode node, on two
     * channels, and the router puts them back in order by it.
     */
    record Tokens(RequestId requestId, int index, int[] tokenIds, String text, Logprob[] logprobs)
            implements GenerationEvent {

        /** Tokens without log-probabilities (the request asked for none). */
        public Tokens(RequestId requestId, int index, int[] tokenIds, String text) {
            this(requestId, index, tokenIds, text, null);
        }
    }

    /**
     * The log-probabilities of one generated token (natural log): its own, and the most likely tokens'
     * in descending order ({@code topIds.length} is the number the request asked for, or fewer).
     */
    record Logprob(int tokenId, float logprob, int[] topIds, float[] topLogprobs) {}

    /** The request ended normally; {@code finishReason} is OpenAI's ("stop" or "length"). */
    record Finished(RequestId requestId, String finishReason, String text, int promptTokens, int completionTokens)
            implements GenerationEvent {}

    /** The request ended with an error (a reason a client may see). */
    record Failed(RequestId requestId, String reason, boolean retryable) implements GenerationEvent {}
}
