package dev.baton.cli;

import dev.baton.bench.serve.ServeSettings;
import dev.baton.bench.serve.overload.ClusterProbe;
import dev.baton.bench.serve.overload.OverloadBenchmark;
import dev.baton.bench.serve.overload.OverloadFiles;
import dev.baton.bench.serve.overload.OverloadSettings;
import dev.baton.bench.serve.report.ProgressBar;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton bench overload}: a running cluster at the load it can hold, then at {@code --factor} times it,
 * then at it again (README "Admission control"). Exit status 0 when every goal that could be measured was met,
 * 2 when one was not.
 */
@Command(name = "overload", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Overload a running cluster: at capacity for --capacity-duration, at --factor times that for "
                + "--overload-duration, at capacity again. Reports the goodput of admitted requests during and after the "
                + "overload against the goodput at capacity, refusals by status with and without Retry-After and their "
                + "latency, any other answer, the prompt tokens the nodes computed against the admitted prompts, and the "
                + "router's and nodes' RSS (local clusters: the processes of --pids).",
                "The workload, target, SLO and client options are bench serve's; --rate, --concurrency, --requests, "
                + "--duration and --compare are not used here.",
                "Example: bin/baton bench overload --target http://127.0.0.1:8000/v1 --input-len 128 --output-len 16 "
                + "--capacity-rate 2 --factor 10 --slo ttft=10s"})
final class BenchOverloadCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ServeOptions serve = new ServeOptions();

    @Option(names = "--capacity-rate", paramLabel = "R", description = "the load the cluster can hold, requests per second "
            + "(default: measured by the probe)")
    Double capacityRate;

    @Option(names = "--probe-concurrency", paramLabel = "N", defaultValue = "4",
            description = "without --capacity-rate: closed-loop clients whose goodput is the capacity (default: ${DEFAULT-VALUE})")
    int probeConcurrency;

    @Option(names = "--probe-duration", paramLabel = "DURATION", defaultValue = "20s", description = "(default: ${DEFAULT-VALUE})")
    String probeDuration;

    @Option(names = "--factor", paramLabel = "K", defaultValue = "10", description = "overload rate over capacity (default: ${DEFAULT-VALUE})")
    double factor;

    @Option(names = "--capacity-duration", paramLabel = "DURATION", defaultValue = "30s",
            description = "arrivals of each capacity phase, before and after the overload (default: ${DEFAULT-VALUE})")
    String capacityDuration;

    @Option(names = "--overload-duration", paramLabel = "DURATION", defaultValue = "60s", description = "(default: ${DEFAULT-VALUE})")
    String overloadDuration;

    @Option(names = "--pids", paramLabel = "FILE", description = "pid file of the cluster's local processes, for RSS and "
            + "the nodes' metrics ports (default: run/current/pids of bin/baton up, when there); none: skip")
    String pids;

    @Option(names = "--node-metrics", split = ",", paramLabel = "URL", description = "more node Prometheus endpoints whose "
            + "prefill token counters are read")
    List<URI> nodeMetrics = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (!serve.compare.isEmpty() || serve.targets.size() != 1) {
            throw new IllegalArgumentException("bench overload needs exactly one --target URL");
        }
        if (!serve.rates.isEmpty() || !serve.concurrency.isEmpty() || serve.duration != null) {
            throw new IllegalArgumentException("bench overload takes --capacity-rate (or the probe's options) and the phase "
                    + "durations, not --rate, --concurrency or --duration");
        }
        var err = spec.commandLine().getErr();
        var out = spec.commandLine().getOut();
        ServeSettings s = serve.settings();
        OverloadSettings settings = new OverloadSettings(s, capacityRate == null ? Double.NaN : capacityRate, serve.burstiness,
                probeConcurrency, ServeOptions.duration(probeDuration, "--probe-duration"), factor,
                ServeOptions.duration(capacityDuration, "--capacity-duration"),
                ServeOptions.duration(overloadDuration, "--overload-duration"));
        Path home = Path.of(System.getProperty("baton.home", "."));
        Path pidFile = pids == null ? home.resolve("run").resolve("current").resolve("pids")
                : pids.equals("none") ? null : Path.of(pids);
        if (pids != null && pidFile != null && !Files.isReadable(pidFile)) {
            throw new IllegalArgumentException("--pids: cannot read " + pidFile);
        }
        try (ClusterProbe cluster = pidFile != null && Files.isReadable(pidFile) ? ClusterProbe.fromPidFile(pidFile, nodeMetrics)
                : new ClusterProbe(List.of(), nodeMetrics)) {
            err.println("bench overload: " + s.workload().describe() + "; processes: " + (cluster.processes().isEmpty() ? "none found"
                    : String.join(", ", cluster.processes().stream().map(p -> p.name() + " (pid " + p.pid() + ")").toList()))
                    + "; node metrics: " + (cluster.metrics().isEmpty() ? "none" : cluster.metrics().size() + " endpoint(s)"));
            OverloadBenchmark.Result result = new OverloadBenchmark(settings)
                    .run(new ProgressBar(err, !serve.noProgress && BenchCommand.terminal()), cluster);
            Path dir = serve.out != null ? serve.out : home.resolve("run").resolve("bench")
                    .resolve("overload-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            OverloadFiles.write(result, dir);
            out.print(OverloadFiles.render(result.overload()));
            out.flush();
            err.println("bench overload: results in " + dir.toAbsolutePath().normalize() + " (results.json, overload.txt, "
                    + "summary.csv, requests.csv)");
            return result.overload().allMeasuredGoalsMet() ? 0 : 2;
        }
    }
}
