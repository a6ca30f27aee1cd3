package dev.baton.bench.serve.report;

import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.Stats;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.ChartEncoder;
import org.knowm.xchart.XYChart;

/**
 * One self-contained HTML file: the configuration, the summary tables and every chart inlined as a PNG data
 * URI (a seventh of the size of the same charts as SVG, whose text XChart draws as glyph outlines), so it can be
 * mailed or attached to an issue as it is.
 */
public final class HtmlReport {

    private HtmlReport() {}

    /** Writes the report to {@code file}. */
    public static void write(ServeReport report, Map<String, XYChart> charts, Path file) throws IOException {
        Files.writeString(file, render(report, charts), StandardCharsets.UTF_8);
    }

    /** The HTML text. */
    public static String render(ServeReport report, Map<String, XYChart> charts) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Baton serving benchmark</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
                        + "margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}td.n{text-align:right}"
                        + "th{background:#f0f0f0}figure{margin:1.5em 0}img{max-width:100%;height:auto}</style>\n</head><body>\n");
        h.append("<h1>Serving benchmark</h1>\n<p>Started ").append(esc(report.started().toString())).append(".</p>\n");
        h.append("<h2>Configuration</h2>\n<table>\n");
        var s = report.settings();
        row(h, "targets", String.join("<br>", s.targets().stream().map(HtmlReport::target).toList()));
        row(h, "API", esc(s.api().path()));
        row(h, "workload", esc(s.workload().describe()));
        row(h, "load points", esc(String.join(", ", s.loads().stream().map(l -> l.label()).toList())));
        row(h, "requests per point", Integer.toString(s.limits().maxRequests())
                + (s.limits().maxDuration() == null ? "" : ", at most " + s.limits().maxDuration().toSeconds() + " s"));
        row(h, "warm-up requests", Integer.toString(s.warmupRequests()));
        row(h, "SLO", s.slo().isEmpty() ? "none" : esc(s.slo().toString()));
        row(h, "seed", Long.toString(s.seed()));
        h.append("</table>\n");

        h.append("<h2>Throughput</h2>\n<table>\n<tr>");
        for (String c : List.of("target", "load", "ok", "failed", "time s", "req/s", "output tok/s", "total tok/s", "goodput req/s",
                "in SLO", "tok/s per user", "output tok/s per node", "cached", "errors")) {
            h.append("<th>").append(esc(c)).append("</th>");
        }
        h.append("</tr>\n");
        for (TargetResult t : report.targets()) {
            for (PointResult p : t.points()) {
                PointSummary m = p.summary();
                h.append("<tr><td>").append(esc(m.target())).append("</td><td>").append(esc(m.point())).append("</td>");
                num(h, Integer.toString(m.completed()));
                num(h, Integer.toString(m.failed()));
                num(h, ConsoleTable.f(m.durationS(), 1));
                num(h, ConsoleTable.f(m.requestsPerSecond(), 2));
                num(h, ConsoleTable.f(m.outputTokensPerSecond(), 1));
                num(h, ConsoleTable.f(m.totalTokensPerSecond(), 1));
                num(h, ConsoleTable.f(m.goodput(), 2));
                num(h, Double.isNaN(m.sloAttainment()) || s.slo().isEmpty() ? "-" : ConsoleTable.f(100 * m.sloAttainment(), 0) + "%");
                num(h, ConsoleTable.f(m.tokensPerSecondPerUser(), 1));
                num(h, ConsoleTable.f(m.outputTokensPerSecondPerNode(), 1));
                num(h, Double.isNaN(m.cachedShare()) ? "-" : ConsoleTable.f(100 * m.cachedShare(), 0) + "%");
                h.append("<td>").append(esc(m.errors().isEmpty() ? "-" : CsvReport.errors(m.errors()))).append("</td></tr>\n");
            }
        }
        h.append("</table>\n");

        h.append("<h2>Latency (ms)</h2>\n<table>\n<tr><th>target</th><th>load</th><th>metric</th><th>mean</th><th>median</th>"
                + "<th>p90</th><th>p99</th><th>max</th><th>n</th></tr>\n");
        for (TargetResult t : report.targets()) {
            for (PointResult p : t.points()) {
                PointSummary m = p.summary();
                latency(h, m, "TTFT", m.ttftMs());
                latency(h, m, "TPOT", m.tpotMs());
                latency(h, m, "ITL", m.itlMs());
                latency(h, m, "E2E", m.e2eMs());
            }
        }
        h.append("</table>\n<p>Percentiles interpolate linearly between closest ranks (numpy's default). TPOT = "
                + "(E2E &minus; TTFT) / (output tokens &minus; 1); goodput = requests inside every objective / duration.</p>\n");

        if (!charts.isEmpty()) {
            h.append("<h2>Charts</h2>\n");
            for (Map.Entry<String, XYChart> e : charts.entrySet()) {
                String png = Base64.getEncoder().encodeToString(ChartEncoder.getBytes(e.getValue(), "png"));
                h.append("<figure id=\"").append(esc(e.getKey())).append("\"><img alt=\"").append(esc(e.getKey()))
                        .append("\" src=\"data:image/png;base64,").append(png).append("\"></figure>\n");
            }
        }
        h.append("</body></html>\n");
        return h.toString();
    }

    private static String target(Target t) {
        return esc(t.name() + ": " + t.baseUrl() + (t.model() == null ? "" : ", model " + t.model())
                + ", " + t.nodes() + (t.nodes() == 1 ? " node" : " nodes"));
    }

    private static void row(StringBuilder h, String key, String valueHtml) {
        h.append("<tr><th>").append(esc(key)).append("</th><td>").append(valueHtml).append("</td></tr>\n");
    }

    private static void num(StringBuilder h, String v) {
        h.append("<td class=\"n\">").append(esc(v)).append("</td>");
    }

    private static void latency(StringBuilder h, PointSummary m, String name, Stats st) {
        h.append("<tr><td>").append(esc(m.target())).append("</td><td>").append(esc(m.point())).append("</td><td>")
                .append(name).append("</td>");
        for (double v : new double[] {st.mean(), st.median(), st.p90(), st.p99(), st.max()}) {
            num(h, ConsoleTable.f(v, 1));
        }
        num(h, Integer.toString(st.count()));
        h.append("</tr>\n");
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
