package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.engine.sampling.SamplingParams;
import java.util.Objects;

/**
 * One request for the {@link EngineLoop}: prompt token ids (BOS included if wanted), sampling, and
 * the tenant cache salt its blocks are hashed with ({@code ""}: the cache every request shares; a
 * request only reuses blocks computed under its own salt). The prompt array is not copied: the
 * caller must not change it after submitting.
 *
 * <p>{@code resumed}: how many of the last prompt tokens are output tokens already delivered to the
 * client (a stream migrated from a node that died continues here; see
 * {@link dev.baton.engine.SequenceOutput#SequenceOutput(dev.baton.engine.Engine, int[], SamplingParams, int)}).
 */
public record GenerationRequest(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt, int resumed) {

    public GenerationRequest {
        Objects.requireNonNull(cacheSalt, "cacheSalt");
    }

    /** A request that starts a new sequence. */
    public GenerationRequest(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt) {
        this(id, promptTokens, params, cacheSalt, 0);
    }

    /** With the shared cache (empty salt). */
    public GenerationRequest(RequestId id, int[] promptTokens, SamplingParams params) {
        this(id, promptTokens, params, "");
    }
}
