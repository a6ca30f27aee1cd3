package dev.baton.bench.serve;

import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.Workload;
import java.util.List;

/**
 * Everything one serving benchmark run needs, validated once here.
 *
 * @param targets the endpoints; each gets the same workload and sweep, one after the other
 * @param loads the sweep: one load point after the other, all rates or all concurrencies
 * @param limits per load point
 * @param warmupRequests requests sent one at a time to each target before its first point, not measured
 * @param seed the seed of prompts, lengths and arrival times: the same seed gives the same run
 */
public record ServeSettings(List<Target> targets, Api api, Workload workload, List<LoadSpec> loads,
        LoadRunner.Limits limits, int warmupRequests, Slo slo, long seed, ClientOptions client) {

    public ServeSettings {
        targets = List.copyOf(targets);
        loads = List.copyOf(loads);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("no target: give one with --target URL (or several with --compare)");
        }
        if (loads.isEmpty()) {
            throw new IllegalArgumentException("no load: give --rate or --concurrency");
        }
        boolean rates = loads.getFirst() instanceof LoadSpec.Rate;
        for (LoadSpec l : loads) {
            if (l instanceof LoadSpec.Rate != rates) {
                throw new IllegalArgumentException("a sweep is over rates or over concurrencies, not both");
            }
        }
        long names = targets.stream().map(Target::name).distinct().count();
        if (names != targets.size()) {
            throw new IllegalArgumentException("two targets share a name: name them with NAME=URL");
        }
        if (warmupRequests < 0) {
            throw new IllegalArgumentException("--warmup " + warmupRequests + " must not be negative");
        }
    }

    /** Whether the sweep is over request rates (else over concurrencies). */
    public boolean sweepsRates() {
        return loads.getFirst() instanceof LoadSpec.Rate;
    }
}
