package dev.baton.bench.serve.report;

import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.RequestRecord;
import dev.baton.bench.serve.metrics.Stats;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * CSV output (RFC 4180 quoting, {@code .} decimals, empty cells for undefined figures):
 * {@code summary.csv} with a row per target and load point, {@code requests.csv} with a row per request
 * (its ITLs summarized as mean and max; the JSON report has them all).
 */
public final class CsvReport {

    private CsvReport() {}

    private static final List<String> SUMMARY_HEADER = List.of("target", "point", "load", "requests", "completed", "failed",
            "short_outputs", "duration_s", "requests_per_s", "output_tokens_per_s", "total_tokens_per_s", "goodput_per_s",
            "slo_attainment", "prompt_tokens", "output_tokens", "cached_tokens", "cached_share",
            "ttft_mean_ms", "ttft_median_ms", "ttft_p90_ms", "ttft_p99_ms",
            "tpot_mean_ms", "tpot_median_ms", "tpot_p90_ms", "tpot_p99_ms",
            "itl_mean_ms", "itl_median_ms", "itl_p90_ms", "itl_p99_ms",
            "e2e_mean_ms", "e2e_median_ms", "e2e_p90_ms", "e2e_p99_ms",
            "tokens_per_s_per_user", "output_tokens_per_s_per_node", "errors");

    private static final List<String> REQUEST_HEADER = List.of("target", "point", "index", "session", "turn", "send_ms", "ok",
            "error", "http_status", "expected_prompt_tokens", "prompt_tokens", "output_tokens", "max_tokens",
            "chunks", "cached_tokens", "ttft_ms", "tpot_ms", "e2e_ms", "itl_mean_ms", "itl_max_ms", "meets_slo", "error_message");

    /** Writes {@code summary.csv}. */
    public static void writeSummary(ServeReport report, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            row(w, SUMMARY_HEADER);
            for (TargetResult t : report.targets()) {
                for (PointResult p : t.points()) {
                    row(w, summaryRow(p.summary()));
                }
            }
        }
    }

    /** Writes {@code requests.csv}. */
    public static void writeRequests(ServeReport report, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            row(w, REQUEST_HEADER);
            for (TargetResult t : report.targets()) {
                for (PointResult p : t.points()) {
                    for (RequestRecord r : p.requests()) {
                        Stats itl = Stats.of(r.itlMs());
                        row(w, List.of(r.target(), r.point(), Integer.toString(r.index()), Integer.toString(r.session()),
                                Integer.toString(r.turn()), num(r.sendMs()), Boolean.toString(r.ok()), str(r.error()),
                                Integer.toString(r.httpStatus()), Integer.toString(r.expectedPromptTokens()),
                                Integer.toString(r.promptTokens()), Integer.toString(r.outputTokens()), Integer.toString(r.maxTokens()),
                                Integer.toString(r.chunks()), Integer.toString(r.cachedTokens()), num(r.ttftMs()),
                                num(r.tpotMs()), num(r.e2eMs()), num(itl.mean()), num(itl.max()),
                                Boolean.toString(r.meetsSlo()), str(r.errorMessage())));
                    }
                }
            }
        }
    }

    static List<String> summaryRow(PointSummary s) {
        List<String> cells = new ArrayList<>(List.of(s.target(), s.point(), num(s.load()), Integer.toString(s.requests()),
                Integer.toString(s.completed()), Integer.toString(s.failed()), Integer.toString(s.shortOutputs()), num(s.durationS()),
                num(s.requestsPerSecond()), num(s.outputTokensPerSecond()), num(s.totalTokensPerSecond()),
                num(s.goodput()), num(s.sloAttainment()), Long.toString(s.promptTokens()), Long.toString(s.outputTokens()),
                Long.toString(s.cachedTokens()), num(s.cachedShare())));
        for (Stats st : List.of(s.ttftMs(), s.tpotMs(), s.itlMs(), s.e2eMs())) {
            cells.addAll(List.of(num(st.mean()), num(st.median()), num(st.p90()), num(st.p99())));
        }
        cells.add(num(s.tokensPerSecondPerUser()));
        cells.add(num(s.outputTokensPerSecondPerNode()));
        cells.add(errors(s.errors()));
        return cells;
    }

    /** {@code http_500:2;truncated:1}, sorted by label. */
    static String errors(Map<String, Integer> errors) {
        StringBuilder sb = new StringBuilder();
        errors.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            if (!sb.isEmpty()) {
                sb.append(';');
            }
            sb.append(e.getKey()).append(':').append(e.getValue());
        });
        return sb.toString();
    }

    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "";
        }
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String str(String s) {
        return s == null ? "" : s;
    }

    private static void row(Writer w, List<String> cells) throws IOException {
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                w.write(',');
            }
            w.write(quote(cells.get(i)));
        }
        w.write("\r\n");
    }

    static String quote(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
