package dev.baton.bench.serve.report;

import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.Stats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The console summary: a throughput table (a row per target and load point) and a latency table (mean,
 * median, p90 and p99 of TTFT, TPOT, ITL and E2E in milliseconds). Undefined figures print as {@code -}.
 */
public final class ConsoleTable {

    private ConsoleTable() {}

    /** Both tables, ready to print. */
    public static String render(ServeReport report) {
        boolean slo = !report.settings().slo().isEmpty();
        List<String> head = new ArrayList<>(List.of("target", "load", "ok", "failed", "time s", "req/s", "out tok/s",
                "tot tok/s"));
        if (slo) {
            head.addAll(List.of("goodput", "in SLO"));
        }
        head.addAll(List.of("tok/s/user", "out tok/s/node", "cached", "errors"));
        List<List<String>> rows = new ArrayList<>();
        List<List<String>> lat = new ArrayList<>();
        for (TargetResult t : report.targets()) {
            for (PointResult p : t.points()) {
                PointSummary s = p.summary();
                List<String> r = new ArrayList<>(List.of(s.target(), s.point(), Integer.toString(s.completed()),
                        Integer.toString(s.failed()), f(s.durationS(), 1), f(s.requestsPerSecond(), 2),
                        f(s.outputTokensPerSecond(), 1), f(s.totalTokensPerSecond(), 1)));
                if (slo) {
                    r.add(f(s.goodput(), 2));
                    r.add(Double.isNaN(s.sloAttainment()) ? "-" : f(100 * s.sloAttainment(), 0) + "%");
                }
                r.addAll(List.of(f(s.tokensPerSecondPerUser(), 1), f(s.outputTokensPerSecondPerNode(), 1),
                        Double.isNaN(s.cachedShare()) ? "-" : f(100 * s.cachedShare(), 0) + "%",
                        s.errors().isEmpty() ? "-" : CsvReport.errors(s.errors())));
                rows.add(r);
                addLatency(lat, s, "TTFT", s.ttftMs());
                addLatency(lat, s, "TPOT", s.tpotMs());
                addLatency(lat, s, "ITL", s.itlMs());
                addLatency(lat, s, "E2E", s.e2eMs());
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(table(head, rows));
        sb.append('\n');
        sb.append(table(List.of("target", "load", "metric (ms)", "mean", "median", "p90", "p99", "max", "n"), lat));
        if (slo) {
            sb.append("SLO ").append(report.settings().slo()).append(": goodput = requests inside every objective / duration\n");
        }
        return sb.toString();
    }

    private static void addLatency(List<List<String>> out, PointSummary s, String name, Stats st) {
        out.add(List.of(s.target(), s.point(), name, f(st.mean(), 1), f(st.median(), 1), f(st.p90(), 1), f(st.p99(), 1),
                f(st.max(), 1), Integer.toString(st.count())));
    }

    /** {@code v} with {@code decimals} decimals, {@code -} when undefined. */
    public static String f(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** A plain text table: headers and text left-aligned, numbers (and {@code -}) right-aligned. */
    public static String table(List<String> head, List<List<String>> rows) {
        int[] w = new int[head.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = head.get(i).length();
            for (List<String> r : rows) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, head, w, true);
        StringBuilder rule = new StringBuilder();
        for (int i = 0; i < w.length; i++) {
            rule.append(i == 0 ? "" : "  ").append("-".repeat(w[i]));
        }
        sb.append(rule).append('\n');
        for (List<String> r : rows) {
            line(sb, r, w, false);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] w, boolean header) {
        StringBuilder l = new StringBuilder();
        for (int i = 0; i < w.length; i++) {
            String c = cells.get(i);
            boolean left = header || !isNumber(c) && !c.equals("-");
            if (i > 0) {
                l.append("  ");
            }
            String pad = " ".repeat(w[i] - c.length());
            l.append(left ? c + pad : pad + c);
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && (Character.isDigit(s.charAt(0)) || s.charAt(0) == '-' && s.length() > 1);
    }
}
