package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A router and a worker as separate processes (bin/baton router, bin/baton worker), driven over
 * HTTP with a real client: same tokens as the engine alone, bad requests answered 4xx while the
 * cluster keeps serving, a disconnected stream's blocks freed on the node.
 */
@Timeout(240)
class HttpClusterIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldServeTheClusterOverOpenAiHttp(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", MODEL.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed);
                NodeProcess worker = NodeProcess.start(dir, "worker", "worker", "--model", MODEL.toString(), "--threads",
                    "1", "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "w1")) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (status(http, base + "/ready") != 200) {
                assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + router.log() + "\n" + worker.log());
                Thread.sleep(300);
            }

            // 1. the same greedy request gives the engine's tokens (text compared: the API returns text)
            String prompt = "Once upon a time";
            JsonNode r = post(http, base + "/v1/completions",
                    "{\"prompt\":\"" + prompt + "\",\"max_tokens\":24,\"temperature\":0,\"ignore_eos\":true}");
            String expected;
            try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(8L << 20))) {
                int[] ids = e.tokenizer().encode(prompt, true, false);
                expected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(24)
                        .ignoreEos(true).build(), t -> { }).text();
            }
            assertEquals(expected, r.at("/choices/0/text").asText(), r.toString());
            assertEquals(24, r.at("/usage/completion_tokens").asInt());

            // 5. bad requests: 4xx with an OpenAI error body; the cluster keeps serving
            HttpResponse<String> bad = raw(http, base + "/v1/completions", "{\"prompt\": 12, \"max_tokens\": -3");
            assertEquals(400, bad.statusCode());
            assertTrue(JSON.readTree(bad.body()).at("/error/message").asText().length() > 0, bad.body());
            HttpResponse<String> tooLong = raw(http, base + "/v1/completions",
                    "{\"prompt\":\"" + "hello ".repeat(600) + "\",\"max_tokens\":8}");
            assertEquals(400, tooLong.statusCode(), tooLong.body());
            assertEquals(24, post(http, base + "/v1/completions",
                    "{\"prompt\":\"again\",\"max_tokens\":24,\"ignore_eos\":true}").at("/usage/completion_tokens").asInt());

            // 4. a client that disconnects mid-stream: its blocks are freed on the node
            HttpResponse<InputStream> stream = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Hello\",\"max_tokens\":480,\"ignore_eos\":true,\"stream\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
            for (int events = 0; events < 3; ) {
                String line = lines.readLine();
                assertTrue(line != null, "stream ended early");
                if (line.startsWith("data: ")) {
                    events++;
                }
            }
            stream.body().close();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                JsonNode node = JSON.readTree(raw(http, base + "/v1/cluster", null).body()).at("/nodes/0");
                if (node.at("/kv/blocks_used").asInt() == 0 && node.at("/running").asInt() == 0) {
                    break;
                }
                assertTrue(System.nanoTime() < deadline, "blocks not freed: " + node);
                Thread.sleep(200);
            }
            assertTrue(raw(http, base + "/metrics", null).body().contains("baton"), "router metrics");
        }
    }

    static int status(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    static HttpResponse<String> raw(HttpClient http, String url, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
        if (body != null) {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode post(HttpClient http, String url, String body) throws Exception {
        HttpResponse<String> r = raw(http, url, body);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }
}
