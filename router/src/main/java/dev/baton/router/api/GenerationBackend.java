package dev.baton.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.common.RequestId;
import dev.baton.engine.sampling.SamplingParams;

/**
 * What the HTTP API asks of whatever generates tokens: the cluster (router to worker, or prefill and
 * decode nodes) in production, an in-process engine loop in tests. The HTTP layer tokenizes, checks
 * and assigns the request id; the backend only runs validated requests.
 *
 * <p>Threading: every method may be called from any thread, concurrently, and must not block
 * (no waiting on another node, no I/O on the caller's thread): the HTTP server calls them on its
 * dispatcher threads.
 *
 * <p>Contract of {@link #submit}: when it returns {@link SubmitResult.Accepted}, the backend owns the
 * request until it calls exactly one of {@link BackendListener#onFinished} or
 * {@link BackendListener#onFailed}; for any other result the listener is never called. A request
 * that is cancelled ends with {@code onFailed} (or {@code onFinished} if it finished first), and
 * whatever it held (KV blocks, queue slots) is released by the backend.
 */
public interface GenerationBackend {

    /** The model served: id, context, tokenizer, chat template. Read once when the server starts. */
    ModelCard model();

    /** Whether the backend can take requests now (GET /ready), with the reason when it cannot. */
    Readiness readiness();

    /**
     * Starts a request. {@code promptTokens} are final token ids (BOS included where wanted); the
     * array is not copied and must not be changed. {@code params} have been validated against the
     * model's vocabulary and context, and prompt plus {@code maxTokens} fits the context.
     * {@code cacheSalt} is the tenant cache salt the prompt's blocks are hashed with (the API's
     * {@code cache_salt}; {@code ""} for the cache every request shares).
     *
     * @return {@link SubmitResult.Accepted}, or why the request was not taken
     */
    SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt,
            BackendListener listener);

    /**
     * Starts a request of the session {@code session} (the API's {@code user} or {@code X-Session-Id}; null for
     * none): a backend that routes may send it where the session's last request went (sticky sessions). Others
     * ignore it.
     */
    default SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt,
            String session, BackendListener listener) {
        return submit(id, promptTokens, params, cacheSalt, listener);
    }

    /**
     * Cancels a request wherever it is (client gone, timeout). Unknown or finished ids are ignored;
     * may be called more than once for the same id.
     */
    void cancel(RequestId id, String reason);

    /**
     * Drains the serving node {@code nodeId} (POST /v1/cluster/nodes/{id}/drain, {@code bin/baton drain}): no
     * new request goes to it; it finishes what it has, leaves the cluster and exits. A backend without
     * such nodes has nothing to drain.
     *
     * @return false when no node of that id is known
     */
    default boolean drain(String nodeId, String reason) {
        return false;
    }

    /**
     * KV positions of the nodes that hold whole requests (prompt plus {@code max_tokens}): the decode nodes,
     * or the workers, that serve now; 0 when unknown. The admission control keeps the requests it admits
     * within them.
     */
    default long kvCapacityPositions() {
        return 0;
    }

    /** Members, roles, load and KV usage as JSON, served as-is on GET /v1/cluster. */
    JsonNode clusterView();
}
