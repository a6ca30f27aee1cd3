package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.engine.sampling.SamplingParams;
import java.util.Objects;

/**
 * One request for the {@link EngineLoop}: prompt token ids (BOS included if wanted), sampling, and
 * the tenant cache salt its blocks are hashed with ({@code ""}: the cache every request shares; a
 * request only reuses blocks computed under its own salt). The prompt array is not copied: the
 * caller must not change it after submitting.
 */
public record GenerationRequest(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt) {

    public GenerationRequest {
        Objects.requireNonNull(cacheSalt, "cacheSalt");
    }

    /** With the shared cache (empty salt). */
    public GenerationRequest(RequestId id, int[] promptTokens, SamplingParams params) {
        this(id, promptTokens, params, "");
    }
}
