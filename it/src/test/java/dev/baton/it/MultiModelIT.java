package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two models in one cluster, as separate processes: one router started with {@code --model tiny-f32 --model
 * small-q8_0} and one worker per model ({@code --join-check by-name}, as {@code bin/baton up} starts them). Both
 * join; {@code /v1/models} lists both; each model's greedy answer is the engine's alone for that model (so each
 * request ran on its own model's node, with its own tokenizer); the worker of the other model generated nothing for
 * it; a request without {@code model} is 400 and an unknown model 404.
 */
@Timeout(150)
class MultiModelIT {

    static final Path ORACLE = Path.of(System.getProperty("baton.oracle.dir")).resolve("models");
    static final Path TINY = ORACLE.resolve("tiny-f32.gguf");
    static final Path SMALL = ORACLE.resolve("small-q8_0.gguf");
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldServeTwoModelsEachOnItsOwnNodes(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", TINY.toString(), "--model",
                    SMALL.toString(), "--port", Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort),
                    "--seed", seed);
                NodeProcess tiny = worker(dir, "tiny-1", TINY, seed);
                NodeProcess small = worker(dir, "small-1", SMALL, seed)) {
            List<NodeProcess> all = List.of(router, tiny, small);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(100);
            while (HttpClusterIT.status(http, base + "/ready") != 200) {
                assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + DisaggregatedClusterIT.logs(all));
                Thread.sleep(300);
            }

            JsonNode models = JSON.readTree(HttpClusterIT.raw(http, base + "/v1/models", null).body());
            assertEquals(List.of("tiny-f32", "small-q8_0"), models.findValuesAsText("id"), models.toString());

            String prompt = "Once upon a time";
            Map<String, String> answers = new HashMap<>();
            for (Path model : List.of(TINY, SMALL)) {
                String id = model.getFileName().toString().replace(".gguf", "");
                JsonNode r = HttpClusterIT.post(http, base + "/v1/completions", "{\"model\":\"" + id + "\",\"prompt\":\""
                        + prompt + "\",\"max_tokens\":16,\"temperature\":0,\"ignore_eos\":true}");
                assertEquals(id, r.get("model").asText());
                String expected;
                try (Engine e = Engine.open(EngineSettings.defaults(model).withThreads(1).withKvCacheBytes(8L << 20))) {
                    int[] ids = e.tokenizer().encode(prompt, true, true);
                    expected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(16)
                            .ignoreEos(true).build(), t -> { }).text();
                }
                assertEquals(expected, r.at("/choices/0/text").asText(), id + ": " + r);
                answers.put(id, expected);
            }
            assertNotEquals(answers.get("tiny-f32"), answers.get("small-q8_0"), "the two models answer differently");

            // each worker generated exactly its own model's 16 tokens (load reports are polled: wait for them)
            Map<String, Long> generated = new HashMap<>();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                JsonNode cluster = JSON.readTree(HttpClusterIT.raw(http, base + "/v1/cluster", null).body());
                for (JsonNode n : cluster.get("nodes")) {
                    generated.put(n.get("node").asText(), n.get("generated_tokens").asLong());
                }
                if (generated.getOrDefault("tiny-1", 0L) >= 16 && generated.getOrDefault("small-1", 0L) >= 16
                        || System.nanoTime() > until) {
                    assertEquals(2, cluster.get("models").size(), cluster.toString());
                    break;
                }
                Thread.sleep(200);
            }
            assertEquals(Map.of("tiny-1", 16L, "small-1", 16L), generated);

            HttpResponse<String> missing = HttpClusterIT.raw(http, base + "/v1/completions", "{\"prompt\":\"x\"}");
            assertEquals(400, missing.statusCode(), missing.body());
            assertEquals("model_required", JSON.readTree(missing.body()).at("/error/code").asText());
            HttpResponse<String> unknown = HttpClusterIT.raw(http, base + "/v1/completions",
                    "{\"model\":\"no-such-model\",\"prompt\":\"x\"}");
            assertEquals(404, unknown.statusCode(), unknown.body());
            assertEquals("model_not_found", JSON.readTree(unknown.body()).at("/error/code").asText());
        }
    }

    private static NodeProcess worker(Path dir, String id, Path model, String seed) throws Exception {
        return NodeProcess.start(dir, id, "worker", "--model", model.toString(), "--threads", "1", "--cluster-port",
                Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", id, "--join-check", "by-name");
    }
}
