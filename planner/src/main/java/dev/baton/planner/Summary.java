package dev.baton.planner;

import java.util.Arrays;

/**
 * A distribution over one interval's requests: count, mean and percentiles (of token counts or of
 * milliseconds). With no samples the count is 0 and every figure is 0, never NaN.
 */
public record Summary(long count, double mean, double p50, double p90, double p99, double max) {

    public static final Summary EMPTY = new Summary(0, 0, 0, 0, 0, 0);

    public Summary {
        if (count < 0) {
            throw new IllegalArgumentException("count " + count + " < 0");
        }
        mean = finite(mean);
        p50 = finite(p50);
        p90 = finite(p90);
        p99 = finite(p99);
        max = finite(max);
    }

    private static double finite(double v) {
        return Double.isFinite(v) && v > 0 ? v : 0;
    }

    /** Summarizes {@code values} (nearest-rank percentiles; the array is not modified). */
    public static Summary of(double[] values) {
        return of(values, values.length);
    }

    /** Summarizes the first {@code n} of {@code values}. */
    public static Summary of(double[] values, int n) {
        if (n == 0) {
            return EMPTY;
        }
        double[] s = Arrays.copyOf(values, n);
        Arrays.sort(s);
        double sum = 0;
        for (double v : s) {
            sum += v;
        }
        return new Summary(n, sum / n, rank(s, 0.5), rank(s, 0.9), rank(s, 0.99), s[n - 1]);
    }

    private static double rank(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** The value at percentile {@code q} (a fraction), interpolated between the stored ones. */
    public double at(double q) {
        if (count == 0) {
            return 0;
        }
        if (q <= 0.5) {
            return p50;
        }
        if (q <= 0.9) {
            return p50 + (p90 - p50) * (q - 0.5) / 0.4;
        }
        if (q <= 0.99) {
            return p90 + (p99 - p90) * (q - 0.9) / 0.09;
        }
        return p99 + (max - p99) * Math.min(1, (q - 0.99) / 0.01);
    }
}
