package dev.baton.common.protocol;

import java.util.List;

/**
 * Sampling parameters as they travel between nodes (the engine's {@code SamplingParams} is built
 * from it on the node that samples, and validated there again).
 *
 * @param seed     null: a random seed chosen by the node
 * @param logprobs null: no logprobs; 0..20: the chosen token's and the top-n
 */
public record SamplingSpec(
        float temperature,
        int topK,
        float topP,
        float minP,
        Long seed,
        float repetitionPenalty,
        float frequencyPenalty,
        float presencePenalty,
        int maxTokens,
        List<Integer> stopTokenIds,
        List<String> stopStrings,
        Integer logprobs,
        boolean ignoreEos) implements CborSerializable {}
