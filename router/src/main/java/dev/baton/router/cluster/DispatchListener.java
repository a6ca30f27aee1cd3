package dev.baton.router.cluster;

/**
 * One request's events as the router receives them from a node. Called on the dispatcher's actor
 * thread: implementations must not block. Exactly one of {@link #onFinished} or {@link #onFailed}
 * ends every submitted request.
 */
public interface DispatchListener {

    void onPrefilled(int promptTokens, int cachedTokens);

    /** Tokens and the text they completed; {@code logprobs} (one per token) when the request asked for them, else null. */
    void onTokens(int[] tokenIds, String text, dev.baton.common.protocol.GenerationEvent.Logprob[] logprobs);

    void onFinished(String finishReason, String text, int promptTokens, int completionTokens);

    /** {@code retryable}: the cluster had no room or lost the node; the client may retry. */
    void onFailed(String reason, boolean retryable);
}
