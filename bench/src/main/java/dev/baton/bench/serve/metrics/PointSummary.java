package dev.baton.bench.serve.metrics;

import java.util.Map;

/**
 * The summary of one load point against one target.
 *
 * <p>Throughputs divide by {@code durationS}, from the start of the point to the end of its last request.
 * {@code goodput} is the number of requests that met every objective of the SLO, divided by the same
 * duration (DistServe's and vLLM's definition), {@code NaN} when no SLO was given; {@code sloAttainment}
 * is the share of all measured requests (failed ones included) that met it. Latency statistics cover
 * completed requests only; ITL pools the gaps of all of them.
 *
 * @param requests measured requests (completed and failed)
 * @param errors failed requests by {@link ErrorKind#key} label
 * @param shortOutputs completed requests with fewer output tokens than their {@code max_tokens} (the server
 *     stopped at EOS, so {@code ignore_eos} was not honoured; without {@code usage}, chunks are counted as tokens)
 * @param tokensPerSecondPerUser {@code 1000 / tpot.mean}: the decode speed one user sees
 * @param outputTokensPerSecondPerNode {@code outputTokensPerSecond / nodes} of the target
 * @param cachedTokens the sum of {@code cached_tokens} over requests that reported it
 * @param cachedShare {@code cachedTokens} over the prompt tokens of the same requests ({@code NaN} if none reported)
 */
public record PointSummary(String target, String point, double load, int requests, int completed, int failed,
        Map<String, Integer> errors, int shortOutputs, double durationS, double requestsPerSecond, double outputTokensPerSecond,
        double totalTokensPerSecond, double goodput, double sloAttainment, long promptTokens, long outputTokens,
        long cachedTokens, double cachedShare, Stats ttftMs, Stats tpotMs, Stats itlMs, Stats e2eMs,
        double tokensPerSecondPerUser, double outputTokensPerSecondPerNode) {}
