package dev.baton.bench.serve.load;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Arrival times of an open-loop load, computed ahead from a seed so that a run can be repeated exactly.
 *
 * <p>The gaps between arrivals are gamma-distributed with shape {@code k = burstiness} and scale
 * {@code 1 / (rate * k)}: their mean is {@code 1 / rate} whatever {@code k}, and their coefficient of
 * variation is {@code 1 / sqrt(k)}. {@code k = 1} gives exponential gaps (a Poisson process), as vLLM's
 * benchmark does. The first request goes out at offset 0.
 */
public final class ArrivalSchedule {

    private ArrivalSchedule() {}

    /**
     * Offsets from the start of the load, in nanoseconds, non-decreasing, {@code offsets[0] == 0}.
     * An infinite rate gives all zeros.
     */
    public static long[] offsetsNs(LoadSpec.Rate rate, int count, long seed) {
        long[] out = new long[count];
        if (Double.isInfinite(rate.perSecond())) {
            return out;
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double k = rate.burstiness();
        double scaleS = 1.0 / (rate.perSecond() * k);
        double t = 0;
        for (int i = 1; i < count; i++) {
            t += gamma(rng, k) * scaleS;
            out[i] = Math.round(t * 1e9);
        }
        return out;
    }

    /**
     * A gamma variate of shape {@code k} and scale 1 (Marsaglia and Tsang, 2000; for {@code k < 1} the
     * variate of shape {@code k + 1} times {@code U^(1/k)}).
     */
    static double gamma(RandomGenerator rng, double k) {
        if (k < 1) {
            double u = rng.nextDouble();
            return gamma(rng, k + 1) * Math.pow(u, 1.0 / k);
        }
        double d = k - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rng.nextGaussian();
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = rng.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
                return d * v;
            }
        }
    }
}
