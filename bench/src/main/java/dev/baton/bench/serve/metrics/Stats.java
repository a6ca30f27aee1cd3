package dev.baton.bench.serve.metrics;

import java.util.Arrays;

/**
 * Summary of one metric over many samples: count, mean, population standard deviation, min, median,
 * p90, p99 and max, percentiles as {@link Percentiles} defines them. With no samples every figure
 * but {@code count} is {@code NaN}. Units are those of the samples (milliseconds for latencies).
 */
public record Stats(int count, double mean, double std, double min, double median, double p90, double p99, double max) {

    /** The statistics of no samples. */
    public static final Stats EMPTY = new Stats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, Double.NaN);

    /** Summarizes {@code values} ({@code NaN} entries are skipped; the array is not modified). */
    public static Stats of(double[] values) {
        double[] s = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
        int n = s.length;
        if (n == 0) {
            return EMPTY;
        }
        double sum = 0;
        for (double v : s) {
            sum += v;
        }
        double mean = sum / n;
        double sq = 0;
        for (double v : s) {
            sq += (v - mean) * (v - mean);
        }
        return new Stats(n, mean, Math.sqrt(sq / n), s[0], Percentiles.ofSorted(s, 50), Percentiles.ofSorted(s, 90),
                Percentiles.ofSorted(s, 99), s[n - 1]);
    }
}
