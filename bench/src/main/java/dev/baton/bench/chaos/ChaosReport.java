package dev.baton.bench.chaos;

import dev.baton.bench.serve.metrics.RequestResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What a {@code bin/baton bench chaos} run showed: requests served, client-visible failures by kind, streams whose
 * text has a gap, a repeat or otherwise differs from the undisturbed text (must be 0), every fault with its recovery
 * time, the router's migrations, and KV blocks still used on each node once the cluster is idle (must be 0).
 * Written as results.json and printed as a table. Immutable.
 *
 * @param settings      the run's settings, as given
 * @param durationMs    how long the load ran (the last requests may end later)
 * @param requests      requests sent
 * @param served        requests that completed with the undisturbed text
 * @param failures      client-visible failures by kind ({@code http_503}, {@code stream_error}, {@code timeout}, ...)
 * @param failureSamples the first failures of each kind, for a look (at most {@link #MAX_LISTED} each)
 * @param gaps          streams with text missing
 * @param repeats       streams with text delivered twice
 * @param different     streams with other wrong text
 * @param corrupt       the first of those streams, for a look (at most {@link #MAX_LISTED})
 * @param chunksPerSecond content chunks per second over the load
 * @param faults        the faults, in order
 * @param migrations    {@code baton_router_migrations_total} by reason at the end
 * @param leakedBlocks  KV blocks each reachable node still had in use once idle
 * @param idle          whether the cluster went idle (no block used, nothing running or in flight) in time
 */
public record ChaosReport(Map<String, Object> settings, long durationMs, int requests, int served,
        Map<String, Integer> failures, Map<String, List<Failure>> failureSamples, int gaps, int repeats, int different, List<CorruptStream> corrupt,
        double chunksPerSecond, List<Fault> faults, Map<String, Double> migrations, Map<String, Integer> leakedBlocks,
        boolean idle) {

    /** How many corrupt streams results.json describes. */
    public static final int MAX_LISTED = 20;
    /** The time bucket content chunks are counted in for recovery times. */
    public static final long BUCKET_MS = 100;

    /**
     * A stream whose text is wrong.
     *
     * @param prompt   its prompt's index
     * @param startMs  when it was sent
     * @param check    how it departs from the undisturbed text
     * @param expected the undisturbed text
     * @param received what it delivered
     */
    public record CorruptStream(int prompt, long startMs, StreamCheck check, String expected, String received) {}

    /**
     * A client-visible failure.
     *
     * @param prompt  its prompt's index
     * @param startMs when it was sent
     * @param endMs   when it failed
     * @param message what the client saw
     */
    public record Failure(int prompt, long startMs, long endMs, String message) {}

    /**
     * One fault as the command made it.
     *
     * @param kind        {@code kill} (SIGKILL, then a fresh node in its place) or {@code stop} (SIGSTOP, SIGCONT after
     *                    {@code stoppedMs}; a fresh node in its place if the cluster had downed it meanwhile)
     * @param node        the node's id
     * @param role        prefill or decode
     * @param atMs        when, in ms since the load's start
     * @param stoppedMs   how long a stopped node stayed stopped; 0 for a kill
     * @param replacement the id of the node started in its place, or null when the node itself came back
     * @param rejoinMs    the time from the fault until the cluster had its nodes back (the replacement or the woken
     *                    node reachable, with its KV pool reported); -1 when that did not happen in time
     */
    public record FaultEvent(String kind, String node, String role, long atMs, long stoppedMs, String replacement,
            long rejoinMs) {}

    /**
     * A fault and how the cluster came through it.
     *
     * @param event             the fault
     * @param preFaultPerSecond content chunks per second before it
     * @param recoveryMs        the time until the cluster streamed at that rate again (see {@link Recovery}); -1 when it
     *                          did not before the next fault or the end of the load
     */
    public record Fault(FaultEvent event, double preFaultPerSecond, long recoveryMs) {}

    /**
     * Recovery times are measured over the last {@code preWindowMs} before a fault and windows of {@code windowMs}
     * after it, recovered at {@code fraction} of the pre-fault rate.
     */
    public record RecoveryRule(long preWindowMs, long windowMs, double fraction) {}

    /** Whether the run passed: no stream with wrong text, no block left used, the cluster idle at the end. */
    public boolean ok() {
        return gaps == 0 && repeats == 0 && different == 0 && idle && leakedTotal() == 0;
    }

    public int leakedTotal() {
        return leakedBlocks.values().stream().mapToInt(Integer::intValue).sum();
    }

    public int failed() {
        return failures.values().stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * Builds the report.
     *
     * @param startNs    the load's start ({@link System#nanoTime()}), which the content chunks' stamps are taken against
     * @param expected   the undisturbed text of each prompt
     * @param outcomes   every request of the load
     */
    public static ChaosReport build(Map<String, Object> settings, long startNs, long durationMs, List<String> expected,
            List<ChaosLoad.Outcome> outcomes, List<FaultEvent> events, RecoveryRule rule, Map<String, Double> migrations,
            Map<String, Integer> leakedBlocks, boolean idle) {
        int served = 0;
        int gaps = 0;
        int repeats = 0;
        int different = 0;
        Map<String, Integer> failures = new TreeMap<>();
        Map<String, List<Failure>> samples = new TreeMap<>();
        List<CorruptStream> corrupt = new ArrayList<>();
        long chunks = 0;
        List<long[]> arrivals = new ArrayList<>();
        for (ChaosLoad.Outcome o : outcomes) {
            RequestResult r = o.result();
            StreamCheck check = StreamCheck.of(expected.get(o.prompt()), r.text(), r.ok());
            switch (check.kind()) {
                case GAP -> gaps++;
                case REPEAT -> repeats++;
                case DIFFERENT -> different++;
                default -> { }
            }
            if (check.kind().corrupt() && corrupt.size() < MAX_LISTED) {
                corrupt.add(new CorruptStream(o.prompt(), o.startMs(), check, expected.get(o.prompt()), r.text()));
            }
            if (!r.ok()) {
                String key = r.error().key(r.httpStatus());
                failures.merge(key, 1, Integer::sum);
                List<Failure> listed = samples.computeIfAbsent(key, k -> new ArrayList<>());
                if (listed.size() < MAX_LISTED) {
                    listed.add(new Failure(o.prompt(), o.startMs(), TimeUnit.NANOSECONDS.toMillis(r.endNs() - startNs),
                            r.errorMessage()));
                }
            } else if (check.kind() == StreamCheck.Kind.IDENTICAL) {
                served++;
            }
            long[] ms = new long[r.contentNs().length];
            for (int i = 0; i < ms.length; i++) {
                ms[i] = TimeUnit.NANOSECONDS.toMillis(r.contentNs()[i] - startNs);
            }
            chunks += ms.length;
            arrivals.add(ms);
        }
        long[] all = arrivals.stream().flatMapToLong(java.util.Arrays::stream).toArray();
        long[] counts = Recovery.buckets(all, BUCKET_MS, durationMs);
        List<Fault> faults = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            FaultEvent e = events.get(i);
            long until = i + 1 < events.size() ? events.get(i + 1).atMs() : durationMs;
            long pre = Math.min(rule.preWindowMs(), i == 0 ? e.atMs() : e.atMs() - events.get(i - 1).atMs());
            Recovery.Result rr = pre < BUCKET_MS ? new Recovery.Result(0, -1)
                    : Recovery.of(counts, BUCKET_MS, e.atMs(), pre, rule.windowMs(), rule.fraction(), until);
            faults.add(new Fault(e, rr.preFaultPerSecond(), rr.recoveryMs()));
        }
        double perSecond = durationMs > 0 ? java.util.Arrays.stream(counts).sum() * 1000.0 / durationMs : 0;
        return new ChaosReport(new LinkedHashMap<>(settings), durationMs, outcomes.size(), served, failures, samples, gaps, repeats,
                different, corrupt, perSecond, faults, new TreeMap<>(migrations), new TreeMap<>(leakedBlocks), idle);
    }

    /** The report as the console shows it. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-34s %s%n", "load", settings.getOrDefault("load", "")));
        row(sb, "duration", String.format(Locale.ROOT, "%.0f s", durationMs / 1000.0));
        row(sb, "requests sent", requests);
        row(sb, "served (text identical)", served);
        row(sb, "client-visible failures", failed() + (failures.isEmpty() ? "" : "  " + failures));
        for (Map.Entry<String, List<Failure>> e : failureSamples.entrySet()) {
            Failure f = e.getValue().get(0);
            row(sb, "  first " + e.getKey(), String.format(Locale.ROOT, "at %.1f s: %s", f.endMs() / 1000.0, f.message()));
        }
        row(sb, "streams with gaps", gaps);
        row(sb, "streams with repeats", repeats);
        row(sb, "streams with other wrong text", different);
        row(sb, "content chunks/s", String.format(Locale.ROOT, "%.1f", chunksPerSecond));
        row(sb, "migrations", migrations.isEmpty() ? "0" : migrations.toString());
        row(sb, "leaked KV blocks (idle)", leakedTotal() + (leakedBlocks.isEmpty() ? "" : "  " + leakedBlocks)
                + (idle ? "" : "  (cluster not idle in time)"));
        sb.append(String.format(Locale.ROOT, "%nfaults: %d%n", faults.size()));
        if (!faults.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%4s %8s %-5s %-16s %-16s %10s %12s %12s%n", "#", "at", "kind", "node",
                    "replaced by", "rejoin", "pre-fault/s", "recovery"));
            for (int i = 0; i < faults.size(); i++) {
                Fault f = faults.get(i);
                FaultEvent e = f.event();
                sb.append(String.format(Locale.ROOT, "%4d %7.1fs %-5s %-16s %-16s %10s %12.1f %12s%n", i + 1, e.atMs() / 1000.0,
                        e.kind(), e.node(), e.replacement() == null ? "-" : e.replacement(), ms(e.rejoinMs()),
                        f.preFaultPerSecond(), ms(f.recoveryMs())));
            }
        }
        sb.append(ok() ? "\nPASS: every stream intact, no block leaked\n" : "\nFAIL: " + (gaps + repeats + different)
                + " stream(s) with wrong text, " + leakedTotal() + " block(s) leaked" + (idle ? "" : ", cluster not idle") + "\n");
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, Object value) {
        sb.append(String.format(Locale.ROOT, "%-34s %s%n", name, value));
    }

    private static String ms(long ms) {
        return ms < 0 ? "never" : ms < 10_000 ? ms + " ms" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
