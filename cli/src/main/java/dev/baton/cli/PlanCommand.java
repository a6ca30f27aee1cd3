package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.baton.planner.CapacityModel;
import dev.baton.planner.CapacityProfile;
import dev.baton.planner.Decision;
import dev.baton.planner.DecisionJson;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.Pool;
import dev.baton.planner.Replay;
import dev.baton.planner.RequestTrace;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bin/baton plan}: replays a recorded request trace (the router's {@code baton.planner.trace-file}, or
 * one {@code bin/baton bench trace} made) through the planner's decision function offline, with the
 * planner settings of the configuration, and prints the decisions. The same function runs in the router.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Replay a request trace through the SLO planner offline and print its decisions.",
                "Pools follow the decisions: a started node is ready --startup later, a drained one leaves at once.",
                "Example: bin/baton plan --profile run/bench/profile.json --trace run/planner-trace.jsonl"})
final class PlanCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--profile", paramLabel = "FILE", description = "capacity profile (bin/baton bench profile); default: baton.planner.profile")
    Path profile;

    @Option(names = "--trace", paramLabel = "FILE", required = true, description = "request trace, one JSON object per line")
    Path trace;

    @Option(names = "--config", paramLabel = "FILE", description = "configuration with the baton.planner block (default: cluster.conf)")
    Path config;

    @Option(names = "--startup", paramLabel = "SECONDS", defaultValue = "30", description = "start-up time of a node (default: ${DEFAULT-VALUE})")
    double startupSeconds;

    @Option(names = "--idle", paramLabel = "SECONDS",
            description = "go on this long past the last request, with no traffic (default: the scale-down window and cooldown, plus two intervals)")
    Double idleSeconds;

    @Option(names = "--prefill", paramLabel = "N", description = "prefill nodes at the start (default: the pool minimum)")
    Integer prefill;

    @Option(names = "--decode", paramLabel = "N", description = "decode nodes at the start (default: the pool minimum)")
    Integer decode;

    @Option(names = "--workers", paramLabel = "N", description = "worker nodes at the start (default: the pool minimum)")
    Integer workers;

    @Option(names = "--all", description = "print every interval, not only those where a pool changes")
    boolean all;

    @Option(names = "--json", description = "print each interval's full record as one JSON line instead of a table")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!(startupSeconds >= 0)) {
            throw new IllegalArgumentException("--startup " + startupSeconds + " must not be negative");
        }
        Config c = BatonConfig.load(config);
        if (profile != null) {
            c = c.withValue("baton.planner.profile", ConfigValueFactory.fromAnyRef(profile.toString()));
        }
        c = ConfigFactory.parseString("baton.planner.mode = advise").withFallback(c).resolve();
        PlannerSettings s = PlannerSettings.from(c);
        CapacityModel model = new CapacityModel(CapacityProfile.read(s.profile()));
        List<RequestTrace.Entry> entries = RequestTrace.read(trace);
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("the trace " + trace + " has no requests");
        }
        Map<Pool, Integer> initial = new EnumMap<>(Pool.class);
        initial.put(Pool.PREFILL, prefill != null ? prefill : s.bounds().get(Pool.PREFILL).min());
        initial.put(Pool.DECODE, decode != null ? decode : s.bounds().get(Pool.DECODE).min());
        initial.put(Pool.WORKER, workers != null ? workers : s.bounds().get(Pool.WORKER).min());
        long idle = idleSeconds != null ? Math.round(idleSeconds * 1000)
                : s.scaleDownWindow().plus(s.scaleDownCooldown()).plus(s.interval().multipliedBy(2)).toMillis();
        if (idle < 0) {
            throw new IllegalArgumentException("--idle " + idleSeconds + " must not be negative");
        }
        List<Replay.Step> steps = Replay.steps(entries, model, s, initial, Math.round(startupSeconds * 1000), idle);
        List<Decision> decisions = steps.stream().map(Replay.Step::decision).toList();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            for (Replay.Step step : steps) {
                out.println(DecisionJson.of(step.observation(), step.decision()));
            }
            out.flush();
            return 0;
        }
        List<Pool> pools = decisions.get(0).pools().keySet().stream().sorted().toList();
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%8s %8s %8s", "t (s)", "req/s", "pred"));
        for (Pool p : pools) {
            head.append(String.format(Locale.ROOT, " %9s", p.role()));
        }
        out.println(head.append("  reason"));
        Map<Pool, Double> nodeSeconds = new EnumMap<>(Pool.class);
        Map<Pool, Integer> peak = new EnumMap<>(Pool.class);
        double interval = s.interval().toMillis() / 1000.0;
        int changes = 0;
        for (Decision d : decisions) {
            boolean acts = d.pools().values().stream().anyMatch(Decision.PoolDecision::acts);
            changes += acts ? 1 : 0;
            for (Pool p : pools) {
                Decision.PoolDecision pd = d.pools().get(p);
                nodeSeconds.merge(p, (pd.ready() + pd.pending() + 0.0) * interval, Double::sum);
                peak.merge(p, pd.target(), Math::max);
            }
            if (!acts && !all) {
                continue;
            }
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%8.0f %8.2f %8.2f", d.atMillis() / 1000.0,
                    d.observed().requestRate(), d.predicted().requestRate()));
            StringBuilder why = new StringBuilder();
            for (Pool p : pools) {
                Decision.PoolDecision pd = d.pools().get(p);
                row.append(String.format(Locale.ROOT, " %4d->%-4d", pd.current(), pd.target()));
                if (pd.acts() || all) {
                    why.append(why.isEmpty() ? "" : "; ").append(p.role()).append(": ").append(pd.reason());
                }
            }
            out.println(row.append("  ").append(why));
        }
        out.println();
        out.printf(Locale.ROOT, "%d intervals of %.0f s, %d requests, %d with a change.%n", decisions.size(), interval, entries.size(),
                changes);
        for (Pool p : pools) {
            out.printf(Locale.ROOT, "  %-8s peak %d node(s), %.0f node-seconds%n", p.role(), peak.get(p), nodeSeconds.get(p));
        }
        out.flush();
        return 0;
    }
}
