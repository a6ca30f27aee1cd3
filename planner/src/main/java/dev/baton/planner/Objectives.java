package dev.baton.planner;

/**
 * The service-level objectives the pools are sized for: time to first token and inter-token latency (the
 * router measures time per output token of each request, which is its mean inter-token latency), both at
 * one percentile of requests.
 *
 * @param ttftMs     time to first token, milliseconds
 * @param itlMs      inter-token latency (time per output token after the first), milliseconds
 * @param percentile the share of requests, in percent (50 to 99.9), that must meet both
 */
public record Objectives(double ttftMs, double itlMs, double percentile) {

    public Objectives {
        if (!(ttftMs > 0) || !(itlMs > 0)) {
            throw new IllegalArgumentException("objectives must be positive: ttft " + ttftMs + " ms, itl " + itlMs + " ms");
        }
        if (!(percentile >= 50 && percentile < 100)) {
            throw new IllegalArgumentException("objective percentile " + percentile + " must be in [50, 100)");
        }
    }

    /** The percentile as a fraction (0.9 for p90). */
    public double quantile() {
        return percentile / 100.0;
    }
}
