package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Overload (issue 15): a router, a prefill and a decode node (one compute thread each, the demo model) get a
 * burst of 200 concurrent requests of 1,024 prompt tokens, many times what they can start within the
 * router's {@code max-ttft} of 2 s. Every request gets an answer: 200, or 503 with {@code Retry-After} and an
 * OpenAI error body, fast (the p99 is printed); no connection is reset and no other 5xx is answered; the
 * prefill node computes no prompt token of a refused request; and the cluster serves normally right after.
 */
@Timeout(300)
class OverloadIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BURST = 200;
    private static final int PROMPT_TOKENS = 1024;

    @Test
    void shouldAnswerEveryRequestOfABurstAndComputeNothingForTheRefusedOnes(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        int prefillMetrics = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", List.of("-Dbaton.router.admission.max-ttft=2s"),
                    "router", "--port", Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort),
                    "--seed", seed);
                NodeProcess prefill = node(dir, "p1", "prefill", seed, "--metrics-port", Integer.toString(prefillMetrics));
                NodeProcess decode = node(dir, "d1", "decode", seed)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            String base = "http://127.0.0.1:" + httpPort;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (status(http, base + "/ready") != 200) {
                assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + router.log() + prefill.log() + decode.log());
                Thread.sleep(300);
            }
            // at capacity: a few requests one after the other (the router measures the prefill speed from them)
            for (int i = 0; i < 3; i++) {
                assertEquals(200, send(http, base, request(1_000 + i, false), 120).statusCode());
            }
            long prefilledBefore = prefilledTokens(http, prefillMetrics);

            List<Outcome> outcomes = burst(base);

            List<Long> refusalMillis = new ArrayList<>();
            int served = 0;
            long admittedPromptTokens = 0;
            for (Outcome o : outcomes) {
                assertTrue(o.failure == null, () -> "no answer for request " + o.index + ": " + o.failure);
                int s = o.response.statusCode();
                String body = o.response.body();
                assertTrue(s == 200 || s == 503, () -> "request " + o.index + " answered " + s + ": " + body);
                if (s == 503) {
                    assertTrue(o.response.headers().firstValue("Retry-After").isPresent(), () -> "no Retry-After: " + body);
                    assertFalse(JSON.readTree(body).at("/error/message").asText().isEmpty(), body);
                    refusalMillis.add(o.millis);
                } else {
                    served++;
                    admittedPromptTokens += PROMPT_TOKENS;
                    assertFalse(body.contains("\"server_error\""), () -> "request " + o.index + " failed: " + body);
                }
            }
            Collections.sort(refusalMillis);
            assertTrue(served >= 1, "nothing of the burst was served");
            assertFalse(refusalMillis.isEmpty(), "the burst was not over capacity: nothing was refused");
            long p50 = refusalMillis.get(refusalMillis.size() / 2);
            long p99 = refusalMillis.get(Math.min(refusalMillis.size() - 1, refusalMillis.size() * 99 / 100));
            long max = refusalMillis.get(refusalMillis.size() - 1);
            System.out.printf("OverloadIT: %d requests, %d served, %d refused (503); refusal latency p50 %d ms, p99 %d ms,"
                    + " max %d ms%n", BURST, served, refusalMillis.size(), p50, p99, max);
            assertTrue(max < 2_000, "a refusal took " + max + " ms");

            // no prompt token of a refused request was computed: the prefill node computed at most the admitted prompts
            long computed = prefilledTokens(http, prefillMetrics) - prefilledBefore;
            assertTrue(computed <= admittedPromptTokens, "the prefill node computed " + computed
                    + " prompt tokens; the admitted requests had " + admittedPromptTokens);

            // the cluster serves normally right after
            HttpResponse<String> after = send(http, base, request(9_999, false), 30);
            assertEquals(200, after.statusCode(), after.body());
            assertEquals(8, JSON.readTree(after.body()).at("/usage/completion_tokens").asInt(), after.body());
        }
    }

    private record Outcome(int index, HttpResponse<String> response, Exception failure, long millis) {}

    /** {@link #BURST} requests sent at once, half of them streamed, each on its own connection (HTTP/1.1). */
    private static List<Outcome> burst(String base) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Outcome>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(30)).build()) {
            for (int i = 0; i < BURST; i++) {
                int index = i;
                futures.add(pool.submit(() -> {
                    HttpRequest request = request(index, index % 2 == 0).apply(base);
                    go.await();
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
                        return new Outcome(index, r, null, (System.nanoTime() - t0) / 1_000_000);
                    } catch (Exception e) {
                        return new Outcome(index, null, e, (System.nanoTime() - t0) / 1_000_000);
                    }
                }));
            }
            go.countDown();
            List<Outcome> outcomes = new ArrayList<>();
            for (Future<Outcome> f : futures) {
                outcomes.add(f.get(150, TimeUnit.SECONDS));
            }
            return outcomes;
        }
    }

    /** A completion of a prompt of {@link #PROMPT_TOKENS} token ids, its first two ids unique to {@code index}. */
    private static java.util.function.Function<String, HttpRequest> request(int index, boolean stream) {
        StringBuilder prompt = new StringBuilder("[").append(300 + index % 200).append(',').append(300 + index / 200);
        for (int i = 2; i < PROMPT_TOKENS; i++) {
            prompt.append(',').append(100 + (i * 7) % 200);
        }
        String body = "{\"prompt\":" + prompt + "],\"max_tokens\":8,\"ignore_eos\":true" + (stream ? ",\"stream\":true" : "")
                + "}";
        return base -> HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static HttpResponse<String> send(HttpClient http, String base, java.util.function.Function<String, HttpRequest> r,
            int timeoutSeconds) throws Exception {
        return http.send(r.apply(base), HttpResponse.BodyHandlers.ofString());
    }

    private static final Pattern PREFILL_TOKENS = Pattern.compile("(?m)^baton_tokens_total\\{[^}]*phase=\"prefill\"[^}]*} (\\S+)$");

    private static long prefilledTokens(HttpClient http, int metricsPort) throws Exception {
        String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = PREFILL_TOKENS.matcher(text);
        assertTrue(m.find(), () -> "no prefill token counter in:\n" + text);
        return (long) Double.parseDouble(m.group(1));
    }

    private static int status(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static NodeProcess node(Path dir, String id, String role, String seed, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of(role, "--threads", "1", "--cluster-port",
                Integer.toString(NodeProcess.freePort()), "--kv-port", Integer.toString(NodeProcess.freePort()),
                "--kv-reply-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", id));
        args.addAll(List.of(extra));
        return NodeProcess.start(dir, id, args.toArray(String[]::new));
    }
}
