package dev.baton.bench.serve.profile;

import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.PromptText;
import java.util.List;

/**
 * What a capacity profile measures.
 *
 * @param target the endpoint of the node (or the smallest deployment) to profile
 * @param inputLengths prompt lengths of the prefill profile (tokens)
 * @param prefillRequests requests per prompt length, one at a time, each asking for one output token
 * @param concurrencies concurrent streams of the decode profile
 * @param contextLengths prompt lengths of the decode profile (the context each stream decodes on)
 * @param decodeTokens output tokens per decode request
 * @param decodeRounds requests per client at each decode point
 * @param warmupRequests one-at-a-time requests before measuring, not recorded
 */
public record ProfileSettings(Target target, Api api, PromptText prompts, List<Integer> inputLengths, int prefillRequests,
        List<Integer> concurrencies, List<Integer> contextLengths, int decodeTokens, int decodeRounds, int warmupRequests,
        long seed, ClientOptions client) {

    public ProfileSettings {
        inputLengths = List.copyOf(inputLengths);
        concurrencies = List.copyOf(concurrencies);
        contextLengths = List.copyOf(contextLengths);
        if (inputLengths.isEmpty() && (concurrencies.isEmpty() || contextLengths.isEmpty())) {
            throw new IllegalArgumentException("nothing to profile: give --input-lens, or --concurrencies and --context-lens");
        }
        for (int n : inputLengths) {
            positive(n, "--input-lens");
        }
        for (int n : concurrencies) {
            positive(n, "--concurrencies");
        }
        for (int n : contextLengths) {
            positive(n, "--context-lens");
        }
        positive(prefillRequests, "--prefill-requests");
        positive(decodeTokens, "--decode-tokens");
        positive(decodeRounds, "--decode-rounds");
        if (decodeTokens < 2) {
            throw new IllegalArgumentException("--decode-tokens " + decodeTokens + " must be at least 2 to time tokens after the first");
        }
    }

    private static void positive(int n, String what) {
        if (n < 1) {
            throw new IllegalArgumentException(what + " " + n + " must be at least 1");
        }
    }
}
