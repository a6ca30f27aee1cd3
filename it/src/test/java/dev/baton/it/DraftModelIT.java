package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker started with {@code --draft-model} (separate processes: router and worker): it names the draft model when
 * up, its greedy answer over HTTP is the engine's own (speculation never changes output), and its meters count
 * accepted drafts. A worker whose draft model has another vocabulary exits at start, naming the mismatch.
 */
@Timeout(150)
class DraftModelIT {

    static final Path TARGET = MultiModelIT.ORACLE.resolve("tiny-f32.gguf");
    static final Path DRAFT = MultiModelIT.ORACLE.resolve("tiny-q8_0.gguf");

    @Test
    void shouldServeWithDraftsFromADraftModelAndRefuseOneWithAnotherVocabulary(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        int metricsPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", TARGET.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed);
                NodeProcess worker = NodeProcess.start(dir, "worker", "worker", "--model", TARGET.toString(),
                        "--draft-model", DRAFT.toString(), "--threads", "1", "--cluster-port",
                        Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "w1", "--metrics-port",
                        Integer.toString(metricsPort));
                NodeProcess bad = NodeProcess.start(dir, "bad", "worker", "--model", TARGET.toString(),
                        "--draft-model", MultiModelIT.SMALL.toString(), "--threads", "1", "--cluster-port",
                        Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "bad")) {
            List<NodeProcess> all = List.of(router, worker, bad);
            assertTrue(bad.process.waitFor(90, TimeUnit.SECONDS), () -> "the worker with a foreign draft model must exit:\n"
                    + DisaggregatedClusterIT.logs(all));
            assertNotEquals(0, bad.process.exitValue());
            assertTrue(bad.log().contains("does not share the vocabulary") && bad.log().contains("small-q8_0"),
                    bad.log());

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(100);
            while (HttpClusterIT.status(http, base + "/ready") != 200) {
                assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + DisaggregatedClusterIT.logs(all));
                Thread.sleep(300);
            }
            assertTrue(worker.log().contains("speculation draft model " + DRAFT), worker.log());

            String prompt = "Once upon a time there was a little";
            int tokens = 48;
            JsonNode r = HttpClusterIT.post(http, base + "/v1/completions", "{\"prompt\":\"" + prompt
                    + "\",\"max_tokens\":" + tokens + ",\"temperature\":0,\"ignore_eos\":true}");
            String expected;
            try (Engine e = Engine.open(EngineSettings.defaults(TARGET).withThreads(1).withKvCacheBytes(8L << 20))) {
                int[] ids = e.tokenizer().encode(prompt, true, true);
                expected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(tokens)
                        .ignoreEos(true).build(), t -> { }).text();
            }
            assertEquals(expected, r.at("/choices/0/text").asText(), r.toString());

            String metrics = HttpClusterIT.raw(http, "http://127.0.0.1:" + metricsPort + "/metrics", null).body();
            double proposed = draftTokens(metrics, "proposed");
            double accepted = draftTokens(metrics, "accepted");
            assertTrue(proposed > 0 && accepted > 0 && accepted <= proposed,
                    "drafts proposed " + proposed + ", accepted " + accepted);
        }
    }

    /** {@code baton_speculation_draft_tokens_total{outcome=...}} on a node's metrics page. */
    private static double draftTokens(String metrics, String outcome) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith("baton_speculation_draft_tokens") && line.contains("outcome=\"" + outcome + "\"")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no baton_speculation_draft_tokens{outcome=" + outcome + "} in:\n" + metrics);
    }
}
