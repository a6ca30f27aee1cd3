package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 concurrent streaming requests of mixed prompt and output lengths through a router, a prefill
 * node and two decode nodes (separate processes, KV over Aeron UDP): every stream is well-formed SSE
 * ending in [DONE], carries exactly the asked number of tokens, both decode nodes take part, and
 * every block is free afterwards.
 */
@Timeout(300)
class ConcurrentStreamsIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldCompleteSixtyFourConcurrentStreamsOverOnePrefillAndTwoDecodeNodes(@TempDir Path dir) throws Exception {
        Path model = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        // This test is about streams, not admission control (OverloadIT's): the router's TTFT check is off, so that
        // neither the cold-router bound (8,192 queued prompt tokens before a speed is measured) nor a speed measured
        // on a slow machine refuses part of the burst (it did once in CI: a 503 for one of the 64).
        try (NodeProcess router = NodeProcess.start(dir, "router", List.of("-Dbaton.router.admission.max-ttft=0s"),
                    "router", "--model", model.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed);
                NodeProcess p1 = DisaggregatedClusterIT.node(dir, "p1", "prefill", seed);
                NodeProcess d1 = DisaggregatedClusterIT.node(dir, "d1", "decode", seed);
                NodeProcess d2 = DisaggregatedClusterIT.node(dir, "d2", "decode", seed)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            awaitReady(http, base, 3, List.of(router, p1, d1, d2), 120);
            SplittableRandom rnd = new SplittableRandom(64);
            List<CompletableFuture<HttpResponse<Stream<String>>>> calls = new ArrayList<>();
            int[] maxTokens = new int[64];
            for (int i = 0; i < 64; i++) {
                maxTokens[i] = 1 + rnd.nextInt(48);
                String prompt = "word ".repeat(1 + rnd.nextInt(120));
                boolean chat = i % 2 == 1;
                String body = chat
                        ? "{\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}],\"max_tokens\":" + maxTokens[i]
                            + ",\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
                        : "{\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens[i]
                            + ",\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
                calls.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + (chat ? "/v1/chat/completions"
                        : "/v1/completions"))).header("Content-Type", "application/json").timeout(Duration.ofSeconds(200))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines()));
            }
            for (int i = 0; i < 64; i++) {
                HttpResponse<Stream<String>> r = calls.get(i).get(200, TimeUnit.SECONDS);
                if (r.statusCode() != 200) {
                    fail("request " + i + ": " + r.statusCode() + " " + String.join("\n", r.body().toList()) + "\n"
                            + DisaggregatedClusterIT.logs(List.of(router, p1, d1, d2)));
                }
                List<String> data = r.body().filter(l -> !l.isEmpty()).toList();
                for (String line : data) {
                    assertTrue(line.startsWith("data: "), "request " + i + ": not an SSE data line: " + line);
                }
                assertEquals("data: [DONE]", data.get(data.size() - 1), "request " + i);
                String finish = null;
                int completion = -1;
                for (String line : data.subList(0, data.size() - 1)) {
                    JsonNode chunk = JSON.readTree(line.substring(6));
                    JsonNode choice = chunk.at("/choices/0");
                    if (!choice.isMissingNode() && !choice.get("finish_reason").isNull()) {
                        finish = choice.get("finish_reason").asText();
                    }
                    if (chunk.hasNonNull("usage")) {
                        completion = chunk.at("/usage/completion_tokens").asInt();
                    }
                }
                int request = i;
                assertEquals("length", finish, () -> "request " + request + ": " + data + "\n"
                        + DisaggregatedClusterIT.logs(List.of(router, p1, d1, d2)));
                assertEquals(maxTokens[i], completion, "request " + i);
            }
            int expected = 0;
            for (int m : maxTokens) {
                expected += m;
            }
            // the nodes' counts come with their load reports (every 500 ms): wait for the last ones
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            JsonNode nodes;
            long total;
            int used;
            do {
                Thread.sleep(200);
                nodes = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/cluster")).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("nodes");
                total = 0;
                used = 0;
                for (JsonNode n : nodes) {
                    total += n.get("generated_tokens").asLong();
                    used += n.at("/kv/blocks_used").asInt();
                }
            } while ((total != expected || used != 0) && System.nanoTime() < deadline);
            assertEquals(3, nodes.size());
            for (JsonNode n : nodes) {
                assertTrue(n.get("generated_tokens").asLong() > 0, "a node took no request: " + nodes);
                assertEquals(0, n.at("/kv/blocks_used").asInt(), "blocks left in use: " + nodes);
            }
            assertEquals(expected, total, "tokens generated over the prefill node (first tokens) and both decode nodes");
        }
    }

    /** Waits up to {@code seconds} until {@code count} nodes have reported their load to the router at {@code base}. */
    static void awaitReady(HttpClient http, String base, int count, List<NodeProcess> all, int seconds)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (readyNodes(http, base) < count) {
            assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + DisaggregatedClusterIT.logs(all));
            Thread.sleep(300);
        }
    }

    static int readyNodes(HttpClient http, String base) {
        try {
            JsonNode nodes = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/cluster"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).body()).get("nodes");
            int ready = 0;
            for (JsonNode n : nodes) {
                ready += n.at("/kv/blocks_total").asInt() > 0 ? 1 : 0;
            }
            return ready;
        } catch (Exception e) {
            return 0;
        }
    }
}
