package dev.baton.bench.serve.overload;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.bench.serve.report.ConsoleTable;
import dev.baton.bench.serve.report.CsvReport;
import dev.baton.bench.serve.report.JsonReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The outputs of an overload run: the console tables (phases, memory, goals) and, in one directory,
 * {@code results.json} (the serving benchmark's report of the three phases, every request included, plus an
 * {@code overload} object with the verdict), {@code summary.csv}, {@code requests.csv} and {@code overload.txt}
 * (the tables).
 */
public final class OverloadFiles {

    private OverloadFiles() {}

    /** The phases, memory and goals tables. */
    public static String render(OverloadReport r) {
        List<String> head = List.of("phase", "load", "offered/s", "sent", "admitted", "429", "503", "Retry-After", "other",
                "failed after 200", "completed req/s", "goodput req/s", "goodput tok/s", "refusal p50 ms", "p99", "max", "prefilled tokens",
                "admitted prompt tokens");
        List<List<String>> rows = new ArrayList<>();
        List<PhaseStats> phases = new ArrayList<>();
        if (r.probe() != null) {
            phases.add(r.probe());
        }
        phases.addAll(r.phases());
        for (PhaseStats p : phases) {
            OverloadReport.PrefillCheck c = r.prefill().stream().filter(x -> x.phase().equals(p.phase())).findFirst().orElse(null);
            rows.add(List.of(p.phase(), p.load(), ConsoleTable.f(p.offeredPerSecond(), 2), Integer.toString(p.sent()),
                    Integer.toString(p.admitted()), Integer.toString(p.refusedByStatus().getOrDefault(429, 0)),
                    Integer.toString(p.refusedByStatus().getOrDefault(503, 0)),
                    (p.refused() - p.refusedWithoutRetryAfter()) + "/" + p.refused(), Integer.toString(p.otherFailures()),
                    Integer.toString(p.admittedFailures()), ConsoleTable.f(p.completedPerSecond(), 3),
                    ConsoleTable.f(p.goodputPerSecond(), 3),
                    ConsoleTable.f(p.goodputTokensPerSecond(), 1), ConsoleTable.f(p.refusalMs().median(), 1),
                    ConsoleTable.f(p.refusalMs().p99(), 1), ConsoleTable.f(p.refusalMs().max(), 1),
                    c == null || !c.known() ? "-" : Long.toString(c.computedTokens()),
                    Long.toString(p.admittedPromptTokens())));
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(java.util.Locale.ROOT, "capacity %.3f requests/s (%s), overload x%s%n", r.capacityRate(),
                r.capacitySource(), ConsoleTable.f(r.factor(), r.factor() == Math.rint(r.factor()) ? 0 : 2)));
        sb.append(ConsoleTable.table(head, rows)).append('\n');
        OverloadReport.Memory m = r.memory();
        TreeSet<String> names = new TreeSet<>(m.before().keySet());
        names.addAll(m.peakDuringOverload().keySet());
        names.addAll(m.after().keySet());
        if (names.isEmpty()) {
            sb.append("memory: no local process of the cluster found (no pid file)\n\n");
        } else {
            List<List<String>> mem = new ArrayList<>();
            for (String n : names) {
                mem.add(List.of(n, mib(m.before(), n), mib(m.peakDuringOverload(), n), mib(m.after(), n)));
            }
            sb.append(ConsoleTable.table(List.of("process", "RSS before MiB", "peak during overload MiB", "after MiB"), mem))
                    .append('\n');
        }
        List<List<String>> goals = new ArrayList<>();
        for (OverloadReport.Goal g : r.goals()) {
            goals.add(List.of(g.name(), g.goal(), g.measured(), g.met() == null ? "unknown" : g.met() ? "met" : "NOT MET"));
        }
        sb.append(ConsoleTable.table(List.of("goal", "target", "measured", ""), goals));
        sb.append("admitted requests completed per second during overload, within the SLO or not: ")
                .append(OverloadReport.pct(r.completedRatio())).append(" of capacity's\n");
        return sb.toString();
    }

    private static String mib(Map<String, Long> bytes, String name) {
        Long b = bytes.get(name);
        return b == null ? "-" : ConsoleTable.f(b / 1048576.0, 0);
    }

    /**
     * Writes the outputs into {@code dir} (created if needed).
     *
     * @return the files written
     */
    public static List<Path> write(OverloadBenchmark.Result result, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = JsonReport.mapper();
        ObjectNode root = JsonReport.tree(result.serve());
        root.set("overload", json.valueToTree(result.overload()));
        Path results = dir.resolve("results.json");
        json.writeValue(results.toFile(), root);
        Path summary = dir.resolve("summary.csv");
        CsvReport.writeSummary(result.serve(), summary);
        Path requests = dir.resolve("requests.csv");
        CsvReport.writeRequests(result.serve(), requests);
        Path text = dir.resolve("overload.txt");
        Files.writeString(text, render(result.overload()));
        return List.of(results, summary, requests, text);
    }
}
