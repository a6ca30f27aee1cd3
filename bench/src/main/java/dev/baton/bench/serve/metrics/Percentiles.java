package dev.baton.bench.serve.metrics;

import java.util.Arrays;

/**
 * Percentiles by linear interpolation between closest ranks, the definition numpy uses by default
 * ({@code numpy.percentile(x, p, method="linear")}).
 *
 * <p>For {@code n} values sorted ascending, {@code x[0] <= ... <= x[n-1]}, percentile {@code p} (0 to 100)
 * is taken at rank {@code r = p / 100 * (n - 1)}: with {@code i = floor(r)},
 * {@code P(p) = x[i] + (r - i) * (x[i+1] - x[i])} (just {@code x[n-1]} when {@code i = n - 1}).
 * So the median of {@code 1, 2, 3, 4} is 2.5 and its p90 is 3.7. An empty input gives {@code NaN}.
 *
 * <p>Stateless; every method is thread-safe.
 */
public final class Percentiles {

    private Percentiles() {}

    /**
     * Percentile {@code p} of values already sorted ascending.
     *
     * @throws IllegalArgumentException if {@code p} is not in [0, 100]
     */
    public static double ofSorted(double[] sorted, double p) {
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile " + p + " is not in [0, 100]");
        }
        int n = sorted.length;
        if (n == 0) {
            return Double.NaN;
        }
        double rank = p / 100.0 * (n - 1);
        int i = (int) Math.floor(rank);
        if (i >= n - 1) {
            return sorted[n - 1];
        }
        double frac = rank - i;
        return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
    }

    /** Percentile {@code p} of {@code values} in any order (the array is not modified). */
    public static double of(double[] values, double p) {
        double[] s = values.clone();
        Arrays.sort(s);
        return ofSorted(s, p);
    }
}
