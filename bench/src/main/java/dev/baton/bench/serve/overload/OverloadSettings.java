package dev.baton.bench.serve.overload;

import dev.baton.bench.serve.ServeSettings;
import java.time.Duration;

/**
 * The settings of an overload run, validated once here.
 *
 * @param serve the target (exactly one), workload, SLO, client options, seed, warm-up, think time and in-flight bound
 *     of the serving benchmark; its sweep and per-point request count are not used
 * @param capacityRate the load the cluster can hold, requests per second; {@code NaN}: measure it with the probe
 * @param burstiness the gamma shape of the arrivals' gaps (1: Poisson)
 * @param probeConcurrency the probe's closed-loop clients (used when {@code capacityRate} is {@code NaN})
 * @param probeDuration how long the probe offers load
 * @param factor the overload phase's rate over {@code capacityRate}
 * @param capacityDuration how long each capacity phase (the first and the last) offers arrivals
 * @param overloadDuration how long the overload phase offers arrivals
 */
public record OverloadSettings(ServeSettings serve, double capacityRate, double burstiness, int probeConcurrency,
        Duration probeDuration, double factor, Duration capacityDuration, Duration overloadDuration) {

    public OverloadSettings {
        if (serve.targets().size() != 1) {
            throw new IllegalArgumentException("bench overload loads one target, got " + serve.targets().size());
        }
        if (!Double.isNaN(capacityRate) && !(capacityRate > 0 && Double.isFinite(capacityRate))) {
            throw new IllegalArgumentException("--capacity-rate " + capacityRate + " must be a positive number of requests per second");
        }
        if (!(factor >= 1) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("--factor " + factor + " must be at least 1");
        }
        if (probeConcurrency < 1) {
            throw new IllegalArgumentException("--probe-concurrency " + probeConcurrency + " must be at least 1");
        }
        positive(probeDuration, "--probe-duration");
        positive(capacityDuration, "--capacity-duration");
        positive(overloadDuration, "--overload-duration");
    }

    private static void positive(Duration d, String what) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be a positive duration, got " + d);
        }
    }

    /** Whether the capacity is measured by the probe rather than given. */
    public boolean probes() {
        return Double.isNaN(capacityRate);
    }
}
