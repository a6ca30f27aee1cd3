package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.engine.sampling.SamplingParams;

/**
 * One request for the {@link EngineLoop}: prompt token ids (BOS included if wanted) and sampling.
 * The prompt array is not copied: the caller must not change it after submitting.
 */
public record GenerationRequest(RequestId id, int[] promptTokens, SamplingParams params) {}
