package dev.baton.bench.serve.metrics;

/**
 * The per-request metric definitions, as pure functions of a request's time stamps (nanoseconds in,
 * milliseconds out). They follow vLLM's serving benchmark and DistServe:
 *
 * <ul>
 *   <li><b>TTFT</b> = first content chunk − send.</li>
 *   <li><b>ITL</b> = the gaps between consecutive content chunks (one per gap, {@code chunks − 1} values).</li>
 *   <li><b>E2E</b> = end of stream − send.</li>
 *   <li><b>output tokens</b> = {@code usage.completion_tokens} when the server reports it, else the number of
 *       content chunks (one token per chunk).</li>
 *   <li><b>TPOT</b> = (E2E − TTFT) / (output tokens − 1); undefined ({@code NaN}) with fewer than 2 tokens.</li>
 * </ul>
 */
public final class RequestMetrics {

    private static final double NS_PER_MS = 1e6;

    private RequestMetrics() {}

    /** Time to first token in ms, or {@code NaN} when no content chunk arrived. */
    public static double ttftMs(long sendNs, long[] contentNs) {
        return contentNs.length == 0 ? Double.NaN : (contentNs[0] - sendNs) / NS_PER_MS;
    }

    /** Inter-token latencies in ms: {@code contentNs[i+1] - contentNs[i]} for each consecutive pair. */
    public static double[] itlMs(long[] contentNs) {
        int n = Math.max(0, contentNs.length - 1);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = (contentNs[i + 1] - contentNs[i]) / NS_PER_MS;
        }
        return out;
    }

    /** End-to-end latency in ms. */
    public static double e2eMs(long sendNs, long endNs) {
        return (endNs - sendNs) / NS_PER_MS;
    }

    /** Output tokens: the server's count when it gave one, else the content chunk count. */
    public static int outputTokens(Usage usage, int contentChunks) {
        return usage != null && usage.completionTokens() > 0 ? usage.completionTokens() : contentChunks;
    }

    /** Time per output token after the first, in ms, or {@code NaN} with fewer than 2 output tokens. */
    public static double tpotMs(double e2eMs, double ttftMs, int outputTokens) {
        return outputTokens < 2 ? Double.NaN : (e2eMs - ttftMs) / (outputTokens - 1);
    }
}
