package dev.baton.bench.serve.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.ServeSettings;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.RequestRecord;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.metrics.Summarizer;
import dev.baton.bench.serve.workload.ApproximatePrompts;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.LengthDistribution;
import dev.baton.bench.serve.workload.RandomWorkload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every output format of a constructed two-target, two-point report. */
@Timeout(60)
class ReportFilesTest {

    @TempDir
    Path dir;

    static final Slo SLO = Slo.parse("ttft=500ms,tpot=50ms");

    static RequestRecord record(String target, String point, int i, double ttft, double tpot, boolean ok) {
        double[] itl = ok ? new double[] {tpot, tpot, tpot} : new double[0];
        double e2e = ok ? ttft + 3 * tpot : 10;
        return new RequestRecord(i, target, point, i, 0, i * 100.0, ok, ok ? null : "http_500", ok ? null : "boom, \"x\"",
                ok ? 200 : 500, 100, ok ? 100 : -1, ok ? 4 : 0, 4, ok ? 4 : 0, ok ? 20 : -1, ok ? ttft : Double.NaN,
                ok ? tpot : Double.NaN, e2e, itl, SLO.meets(ok, ttft, tpot, e2e));
    }

    static ServeReport report() {
        List<Target> targets = List.of(Target.parse("baton=http://127.0.0.1:1/v1,nodes=2,api-key=secret"),
                Target.parse("llama=http://127.0.0.1:2/v1"));
        List<LoadSpec> loads = List.of(new LoadSpec.Rate(1, 1), new LoadSpec.Rate(2, 1));
        ServeSettings settings = new ServeSettings(targets, Api.COMPLETIONS,
                new RandomWorkload(new ApproximatePrompts(), new LengthDistribution.Fixed(100), new LengthDistribution.Fixed(4)),
                loads, new LoadRunner.Limits(4, null, Duration.ZERO, 64), 1, SLO, 1, ClientOptions.defaults());
        List<TargetResult> results = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            List<PointResult> points = new ArrayList<>();
            for (LoadSpec load : loads) {
                String name = targets.get(t).name();
                double slow = (t + 1) * load.value();
                List<RequestRecord> rs = List.of(record(name, load.label(), 0, 100 * slow, 20 * slow, true),
                        record(name, load.label(), 1, 200 * slow, 30 * slow, true),
                        record(name, load.label(), 2, 300 * slow, 25 * slow, true), record(name, load.label(), 3, 0, 0, false));
                PointSummary s = Summarizer.summarize(name, load.label(), load.value(), rs, 2.0, targets.get(t).nodes(), SLO);
                points.add(new PointResult(load, s, rs));
            }
            results.add(new TargetResult(targets.get(t), "m", points));
        }
        return new ServeReport(settings, Instant.parse("2026-01-02T03:04:05Z"), results);
    }

    @Test
    void shouldWriteJsonWithSummariesRequestsAndNullsForUndefinedFigures() throws IOException {
        Path f = dir.resolve("r.json");
        JsonReport.write(report(), f);
        String text = Files.readString(f);
        assertTrue(!text.contains("secret"), "the API key is never written");
        assertTrue(!text.contains("NaN"));
        JsonNode root = new ObjectMapper().readTree(text);
        assertEquals("ttft=500ms,tpot=50ms", root.get("config").get("slo").asText());
        JsonNode p = root.get("results").get(0).get("points").get(1);
        assertEquals("rate=2/s", p.get("load").asText());
        assertEquals(4, p.get("requests").size());
        assertTrue(p.get("requests").get(3).get("ttftMs").isNull());
        assertEquals("http_500", p.get("requests").get(3).get("error").asText());
        assertEquals(1.5, p.get("summary").get("requestsPerSecond").asDouble(), 0);
        assertEquals(2, root.get("results").get(0).get("target").get("nodes").asInt());
        assertEquals(1.5, root.get("results").get(0).get("points").get(0).get("summary").get("goodput").asDouble(), 0);
        assertEquals(0.5, p.get("summary").get("goodput").asDouble(), 0);
    }

    @Test
    void shouldWriteCsvRowsWithQuotedText() throws IOException {
        ServeReport r = report();
        Path summary = dir.resolve("s.csv");
        Path requests = dir.resolve("q.csv");
        CsvReport.writeSummary(r, summary);
        CsvReport.writeRequests(r, requests);
        List<String> s = Files.readAllLines(summary);
        assertEquals(5, s.size());
        assertTrue(s.get(0).startsWith("target,point,load,requests,completed"));
        assertTrue(s.get(1).startsWith("baton,rate=1/s,1.000,4,3,1,0,2.000,1.500,"), s.get(1));
        assertTrue(s.get(1).endsWith(",http_500:1"), s.get(1));
        List<String> q = Files.readAllLines(requests);
        assertEquals(17, q.size());
        assertTrue(q.get(4).endsWith(",false,\"boom, \"\"x\"\"\""), q.get(4));
        assertTrue(q.get(4).contains(",http_500,500,100,-1,0,4,0,-1,,,10.000,"), q.get(4));
    }

    @Test
    void shouldRenderPngAndSvgChartsAndAnHtmlReportThatInlinesThem() throws IOException {
        List<Path> files = ReportFiles.write(report(), dir, true, true);
        List<String> names = files.stream().map(p -> p.getFileName().toString()).toList();
        for (String chart : List.of("ttft-cdf", "tpot-cdf", "itl-cdf", "e2e-cdf", "throughput", "goodput", "pareto")) {
            assertTrue(names.contains(chart + ".png"), names.toString());
            assertTrue(names.contains(chart + ".svg"), names.toString());
            byte[] png = Files.readAllBytes(dir.resolve(chart + ".png"));
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
            assertTrue(Files.readString(dir.resolve(chart + ".svg")).contains("<svg"));
        }
        assertTrue(names.containsAll(List.of("results.json", "summary.csv", "requests.csv", "report.html")));
        String html = Files.readString(dir.resolve("report.html"));
        assertEquals(7, html.split("<img alt=\"[a-z0-9-]+\" src=\"data:image/png;base64,iVBOR", -1).length - 1,
                "one inline PNG per chart");
        assertTrue(html.contains("baton: http://127.0.0.1:1/v1/, 2 nodes"));
        assertTrue(!html.contains("secret"));
    }

    @Test
    void shouldThinLongCdfsToAtMostFourHundredPointsKeepingTheEnds() {
        double[] v = new double[10_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        double[][] xy = Charts.cdfPoints(v);
        assertEquals(400, xy[0].length);
        assertEquals(0.0, xy[0][0], 0);
        assertEquals(1e-4, xy[1][0], 0);
        assertEquals(9999.0, xy[0][399], 0);
        assertEquals(1.0, xy[1][399], 0);
        double[][] small = Charts.cdfPoints(new double[] {5, 7});
        assertArrayEquals(new double[] {0.5, 1.0}, small[1], 0);
    }

    @Test
    void shouldPrintThroughputAndLatencyTables() {
        String table = ConsoleTable.render(report());
        assertTrue(table.contains("goodput"), table);
        assertTrue(table.contains("TTFT") && table.contains("TPOT") && table.contains("ITL") && table.contains("E2E"), table);
        assertTrue(table.contains("http_500:1"), table);
        assertEquals(4 + 2 + 16 + 2 + 1 + 1, table.split("\n").length, table);
    }
}
