package dev.baton.router.api;

import dev.baton.common.protocol.GenerationEvent;
import dev.baton.engine.sampling.FinishReason;

/**
 * Receives one request's output from a {@link GenerationBackend}; the router's side of the engine's
 * generation listener.
 *
 * <p>Threading: may be called from any thread, but the calls for one request never overlap and each
 * happens-before the next (a backend delivers them from one thread or one actor). Implementations
 * never block: the router's implementation only offers to a bounded stream buffer. Exactly one of
 * {@link #onFinished} or {@link #onFailed} ends every accepted request; nothing follows it.
 */
public interface BackendListener {

    /** Prefill is done: the first token's logits exist; {@code cachedTokens} of the prompt were reused from a prefix cache. */
    default void onPrefilled(int promptTokens, int cachedTokens) {}

    /** One generated token and the text it completed (possibly empty: a partial character or a held-back stop prefix). */
    void onToken(int tokenId, String text);

    /** As {@link #onToken(int, String)}, with the token's log-probabilities when the request asked for them (else null). */
    default void onToken(int tokenId, String text, GenerationEvent.Logprob logprob) {
        onToken(tokenId, text);
    }

    /** The request ended normally; {@code text} is the last text held back (usually empty). */
    void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens);

    /** The request ended with an error (cancelled, a node failed, ...); the reason is for logs, not for clients. */
    void onFailed(String reason);

    /**
     * As {@link #onFailed(String)}; {@code retryable} when the cluster had no room or lost a node, so
     * that a client may retry (answered 503 with {@code Retry-After} before the stream starts).
     */
    default void onFailed(String reason, boolean retryable) {
        onFailed(reason);
    }
}
