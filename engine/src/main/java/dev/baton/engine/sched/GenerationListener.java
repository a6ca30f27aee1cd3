package dev.baton.engine.sched;

import dev.baton.engine.sampling.FinishReason;

/**
 * Receives a request's output, on the engine loop's thread: implementations must not block
 * (hand the data to another thread or actor). Exactly one of {@link #onFinished} or
 * {@link #onFailed} ends every accepted request.
 */
public interface GenerationListener {

    /** The request left the queue: its blocks are reserved (an import's: see {@link ImportListener#onReserved}). */
    default void onAdmitted() {}

    /** The first token's logits are computed: prefill is done ({@code cachedTokens} were reused). */
    default void onPrefilled(int promptTokens, int cachedTokens) {}

    /**
     * As {@link #onToken(int, String)}, with the token's log-probabilities when the request asked for
     * them ({@code null} otherwise). The values are overwritten by the next token: copy what you keep.
     */
    default void onToken(int tokenId, String text, dev.baton.engine.sampling.TokenLogprobs logprobs) {
        onToken(tokenId, text);
    }

    /** One generated token and the text it completed (possibly empty: a partial character or held-back stop prefix). */
    void onToken(int tokenId, String text);

    /** The request ended normally; {@code text} is the last text held back (usually empty). */
    void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens);

    /** The request ended with an error (cancelled, no KV room, ...); its blocks are already free. */
    void onFailed(String reason);

    /**
     * As {@link #onFailed(String)}; {@code retryable} when the cause lies outside the request (a peer's KV never
     * arrived, the node shuts down), so another node may serve it.
     */
    default void onFailed(String reason, boolean retryable) {
        onFailed(reason);
    }
}
