package dev.baton.bench.serve.overload;

import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.Progress;
import dev.baton.bench.serve.ServeBenchmark;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.ServeSettings;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The overload benchmark ({@code bin/baton bench overload}): against one running cluster, the load it can hold
 * (given, or measured by a closed-loop probe), then {@code factor} times that, then the first load again.
 *
 * <pre>
 *   warm-up                      unmeasured, one at a time
 *   [probe]                      C clients for D: capacity = admitted requests/s within the SLO
 *   capacity   rate R      for T     prefill counters and RSS read before and after each phase
 *   overload   rate k * R  for 60 s  RSS sampled every 500 ms
 *   recovery   rate R      for T
 * </pre>
 *
 * Each phase is one load point of the serving benchmark ({@link LoadRunner}, {@link PointResult}), with its own
 * prompts, so that no phase finds the previous one's in a prefix cache. Not thread-safe; one {@link #run} at a time.
 */
public final class OverloadBenchmark {

    /** What a run produced: the phases as a serving report (for its JSON, CSV and tables) and the verdict. */
    public record Result(ServeReport serve, OverloadReport overload) {}

    private static final long RSS_SAMPLE_MS = 500;

    private final OverloadSettings settings;

    public OverloadBenchmark(OverloadSettings settings) {
        this.settings = settings;
    }

    /**
     * Runs every phase.
     *
     * @throws IOException when the target names no model and its model list cannot be read
     */
    public Result run(Progress progress, ClusterProbe cluster) throws IOException {
        ServeSettings serve = settings.serve();
        Target target = serve.targets().getFirst();
        Instant started = Instant.now();
        try (OpenAiClient client = new OpenAiClient(target, serve.api(), serve.client())) {
            String model = client.resolveModel();
            ServeBenchmark.warmUp(serve, target, model, client, progress);
            Phases phases = new Phases(target, model, client, progress, cluster);
            PhaseStats probe = null;
            double rate = settings.capacityRate();
            String source = "given";
            if (settings.probes()) {
                LoadSpec load = new LoadSpec.Concurrency(settings.probeConcurrency());
                probe = phases.run("probe", load, settings.probeDuration(), 3).stats;
                // three significant digits: a rate that reads well in labels, and none lost that matters
                rate = new java.math.BigDecimal(probe.goodputPerSecond()).round(new java.math.MathContext(3)).doubleValue();
                source = "probe " + load.label() + " for " + settings.probeDuration().toSeconds() + " s";
                if (!(rate > 0)) {
                    throw new IllegalStateException("the probe (" + load.label() + ") served no request within the SLO: "
                            + probe.admitted() + " admitted, " + probe.refused() + " refused, " + probe.otherFailures()
                            + " other failures; give the capacity with --capacity-rate");
                }
                progress.notice(String.format(java.util.Locale.ROOT, "capacity: %.3f requests/s (%s)", rate, source));
            }
            Map<String, Long> before = cluster.rssBytes();
            LoadSpec.Rate capacity = new LoadSpec.Rate(rate, settings.burstiness());
            LoadSpec.Rate over = new LoadSpec.Rate(rate * settings.factor(), settings.burstiness());
            Phase first = phases.run("capacity", capacity, settings.capacityDuration(), 0);
            Map<String, Long> peak = new HashMap<>();
            Phase second;
            try (ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "bench-rss-sampler");
                t.setDaemon(true);
                return t;
            })) {
                sampler.scheduleAtFixedRate(() -> {
                    Map<String, Long> now = cluster.rssBytes();
                    synchronized (peak) {
                        now.forEach((k, v) -> peak.merge(k, v, Math::max));
                    }
                }, 0, RSS_SAMPLE_MS, TimeUnit.MILLISECONDS);
                second = phases.run("overload", over, settings.overloadDuration(), 1);
                sampler.shutdownNow();
            }
            Phase third = phases.run("recovery", capacity, settings.capacityDuration(), 2);
            Map<String, Long> after = cluster.rssBytes();
            OverloadReport.Memory memory;
            synchronized (peak) {
                memory = new OverloadReport.Memory(before, peak, after);
            }
            List<Phase> all = List.of(first, second, third);
            OverloadReport verdict = OverloadReport.of(rate, source, settings.factor(), probe,
                    all.stream().map(p -> p.stats).toList(), all.stream().map(p -> p.prefill).toList(), memory);
            ServeSettings asServe = new ServeSettings(serve.targets(), serve.api(), serve.workload(),
                    List.of(capacity, over, capacity), serve.limits(), serve.warmupRequests(), serve.slo(), serve.seed(),
                    serve.client());
            ServeReport report = new ServeReport(asServe, started,
                    List.of(new TargetResult(target, model, all.stream().map(p -> p.point).toList())));
            return new Result(report, verdict);
        }
    }

    /** One phase's serving point, its statistics and its prefill check. */
    private record Phase(PointResult point, PhaseStats stats, OverloadReport.PrefillCheck prefill) {}

    /** Runs phases against one target. */
    private final class Phases {
        final Target target;
        final String model;
        final OpenAiClient client;
        final Progress progress;
        final ClusterProbe cluster;

        Phases(Target target, String model, OpenAiClient client, Progress progress, ClusterProbe cluster) {
            this.target = target;
            this.model = model;
            this.client = client;
            this.progress = progress;
            this.cluster = cluster;
        }

        Phase run(String name, LoadSpec load, Duration window, int index) {
            ServeSettings serve = settings.serve();
            double seconds = window.toMillis() / 1e3;
            // enough sessions that the window, not the count, ends the phase (Poisson arrivals vary)
            double perSecond = load instanceof LoadSpec.Rate r ? r.perSecond() : 50.0 * load.value();
            int max = (int) Math.min(200_000, Math.ceil(perSecond * seconds * 1.5) + 32);
            LoadRunner runner = new LoadRunner(client, model,
                    new LoadRunner.Limits(max, window, serve.limits().thinkTime(), serve.limits().maxInFlight()));
            long seed = ServeBenchmark.pointSeed(serve.seed(), index);
            String label = name + " " + load.label();
            long prefilledBefore = prefilled(name);
            LoadRunner.PointRun run = runner.run(load, serve.workload().sessions(max, seed), seed,
                    progress.pointStarted(target.name(), label, max));
            long prefilledAfter = prefilled(name);
            PointResult point = PointResult.of(target, load, label, run, serve.slo());
            progress.pointFinished(point.summary());
            PhaseStats stats = PhaseStats.of(name, load.label(), point.requests(), seconds, point.summary().durationS());
            long computed = prefilledBefore < 0 || prefilledAfter < 0 ? -1 : prefilledAfter - prefilledBefore;
            return new Phase(point, stats, new OverloadReport.PrefillCheck(name, computed, stats.admittedPromptTokens()));
        }

        private long prefilled(String phase) {
            try {
                OptionalLong n = cluster.prefilledTokens();
                return n.isPresent() ? n.getAsLong() : -1;
            } catch (IOException e) {
                progress.notice(phase + ": cannot read the nodes' prefill counters: " + e.getMessage());
                return -1;
            }
        }
    }
}
