package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark harness against a real local cluster (router, prefill node, decode node as
 * processes): a short two-point sweep through {@code bin/baton bench serve} writes the JSON, the
 * CSV files, the charts and the HTML report, and the figures in them agree with what was asked.
 */
@Timeout(300)
class BenchSweepIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldSweepARealClusterAndWriteEveryReport(@TempDir Path dir) throws Exception {
        Path model = DisaggregatedClusterIT.MODEL;
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", model.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed);
                NodeProcess p1 = DisaggregatedClusterIT.node(dir, "p1", "prefill", seed);
                NodeProcess d1 = DisaggregatedClusterIT.node(dir, "d1", "decode", seed)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            ConcurrentStreamsIT.awaitReady(http, base, 2, List.of(router, p1, d1), 120);
            Path out = dir.resolve("bench");
            ProcessBuilder pb = new ProcessBuilder(NodeProcess.root().resolve("bin/baton").toString(), "bench", "serve",
                    "--target", "disagg=" + base + "/v1", "--tokenizer", model.toString(), "--input-len", "uniform:20:60",
                    "--output-len", "8", "--rate", "4,inf", "--requests", "8", "--warmup", "1", "--no-progress",
                    "--slo", "ttft=2s,tpot=500ms", "--out", out.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("bench.log").toFile());
            pb.environment().put("BATON_SKIP_BUILD", "1");
            pb.environment().put("BATON_JVM_OPTS", "-Xmx384m");
            Process p = pb.start();
            assertTrue(p.waitFor(180, TimeUnit.SECONDS), "bench timed out");
            String log = Files.readString(dir.resolve("bench.log"), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), log);
            for (String f : List.of("results.json", "summary.csv", "requests.csv", "report.html")) {
                assertTrue(Files.size(out.resolve(f)) > 0, f + " missing or empty\n" + log);
            }
            try (var files = Files.list(out)) {
                List<String> names = files.map(f -> f.getFileName().toString()).toList();
                assertTrue(names.stream().filter(n -> n.endsWith(".png")).count() >= 3, "charts: " + names);
                assertTrue(names.stream().filter(n -> n.endsWith(".svg")).count() >= 3, "charts: " + names);
            }
            JsonNode results = JSON.readTree(out.resolve("results.json").toFile()).at("/results/0");
            assertEquals("disagg", results.at("/target/name").asText());
            JsonNode points = results.get("points");
            assertEquals(2, points.size(), "one point per rate");
            for (JsonNode point : points) {
                JsonNode requests = point.get("requests");
                assertEquals(8, requests.size());
                JsonNode s = point.get("summary");
                assertEquals(8, s.get("completed").asInt(), point.toString());
                assertEquals(0, s.get("failed").asInt());
                for (JsonNode r : requests) {
                    assertEquals(8, r.get("outputTokens").asInt(), r.toString());
                    assertTrue(r.get("ok").asBoolean(), r.toString());
                    assertTrue(r.get("ttftMs").asDouble() > 0 && r.get("ttftMs").asDouble() <= r.get("e2eMs").asDouble(), r.toString());
                }
            }
            List<String> summary = Files.readAllLines(out.resolve("summary.csv"));
            assertEquals(3, summary.size(), "a header and one line per point: " + summary);
            assertEquals(17, Files.readAllLines(out.resolve("requests.csv")).size(), "a header and 16 requests");
            assertTrue(Files.readString(out.resolve("report.html")).contains("src=\"data:image/png;base64,"), "the report embeds the charts");
        }
    }
}
