package dev.baton.bench.serve.profile;

import dev.baton.bench.serve.metrics.Stats;
import java.util.List;

/**
 * A node's measured capacity, the input of the SLO planner (docs/design.md §9): TTFT against prompt length
 * (prefill) and ITL against concurrency and context length (decode). Saved as JSON.
 *
 * @param nodes the node count of the profiled target; throughputs {@code ...PerNode} are divided by it
 * @param exactPrompts whether prompt lengths were exact (a tokenizer of the model) or approximate
 */
public record Profile(int version, String target, String baseUrl, String model, int nodes, String api,
        boolean exactPrompts, List<PrefillPoint> prefill, List<DecodePoint> decode) {

    /**
     * One prompt length: requests sent one at a time with {@code max_tokens = 1}.
     *
     * @param prefillTokensPerSecond {@code inputTokens / median TTFT}
     */
    public record PrefillPoint(int inputTokens, int requests, int failed, Stats ttftMs, double prefillTokensPerSecond,
            double prefillTokensPerSecondPerNode) {}

    /**
     * One concurrency and context length: {@code concurrency} clients streaming {@code outputTokens} each.
     *
     * @param tokensPerSecondPerUser {@code 1000 / mean TPOT}
     * @param decodeTokensPerSecond {@code concurrency * 1000 / mean TPOT}: the decode rate of the batch
     * @param outputTokensPerSecond output tokens over the point's wall time (prefills included)
     */
    public record DecodePoint(int concurrency, int contextTokens, int outputTokens, int requests, int failed,
            Stats itlMs, Stats tpotMs, Stats ttftMs, double tokensPerSecondPerUser, double decodeTokensPerSecond,
            double decodeTokensPerSecondPerNode, double outputTokensPerSecond) {}
}
