package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prefix reuse and KV-aware routing across processes: a router, two prefill nodes and a decode node.
 * The nodes publish KV events, the router's index learns which node holds a prompt's blocks, sends
 * later requests with the same prefix there (they report cached tokens and give the same answer),
 * and under a burst of such requests spreads them over both prefill nodes instead of piling them up.
 */
@Timeout(300)
class PrefixRoutingIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldRouteToTheNodeHoldingThePrefixWithoutHerding(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        // the burst below freezes the prefix's holder while it is routed: no process may take that pause for a crash
        Path conf = dir.resolve("patient.conf");
        Files.writeString(conf, "include file(\"" + NodeProcess.root().resolve("cluster.conf") + "\")\n"
                + "pekko.cluster.failure-detector.acceptable-heartbeat-pause = 20s\n");
        // requests go through a prefill node even when the decode node holds their prompt (DecodeReuseIT covers that)
        try (NodeProcess router = NodeProcess.start(dir, "router", List.of("-Dbaton.router.routing.decode-prefill-threshold=0"),
                    "router", "--config", conf.toString(),
                    "--model", DisaggregatedClusterIT.MODEL.toString(), "--port", Integer.toString(httpPort), "--cluster-port",
                    Integer.toString(seedPort), "--seed", seed);
                NodeProcess p1 = DisaggregatedClusterIT.node(dir, "p1", "prefill", seed, "--config", conf.toString());
                NodeProcess p2 = DisaggregatedClusterIT.node(dir, "p2", "prefill", seed, "--config", conf.toString());
                NodeProcess d1 = DisaggregatedClusterIT.node(dir, "d1", "decode", seed, "--config", conf.toString())) {
            List<NodeProcess> all = List.of(router, p1, p2, d1);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            ConcurrentStreamsIT.awaitReady(http, base, 3, all, 120);
            String system = "You are a helpful assistant for the tenant number seven. ".repeat(5); // ~ 185 tokens
            String first = request(system + "First question?", 8);
            JsonNode r1 = HttpClusterIT.post(http, base + "/v1/completions", first);
            assertEquals(0, r1.at("/usage/prompt_tokens_details/cached_tokens").asInt());
            int promptTokens = r1.at("/usage/prompt_tokens").asInt();
            assertTrue(promptTokens > 150, "prompt of " + promptTokens + " tokens");

            // the router's index learns where the prefix is
            String holder = awaitIndexed(http, base, all);
            Map<String, Long> before = firstTokens(http, base, 1);

            // requests with the same prefix go to the holder, reuse its blocks, and answer as before
            for (int i = 0; i < 4; i++) {
                JsonNode r = HttpClusterIT.post(http, base + "/v1/completions", request(system + "Question " + i + "?", 8));
                int cached = r.at("/usage/prompt_tokens_details/cached_tokens").asInt();
                assertTrue(cached >= 16 * ((promptTokens - 40) / 16), "request " + i + " reused only " + cached + ": " + r);
            }
            JsonNode again = HttpClusterIT.post(http, base + "/v1/completions", first);
            assertEquals(r1.at("/choices/0/text").asText(), again.at("/choices/0/text").asText(),
                    "a reused prefix gives the same answer");
            Map<String, Long> after = firstTokens(http, base, 6);
            assertEquals(before.get(holder) + 5, after.get(holder), "every request went to " + holder + ": " + after);

            // a burst of requests sharing the prefix spreads over both prefill nodes (the herding guard): the holder is
            // frozen (SIGSTOP) while the burst is routed, so its requests pile up in flight whatever this machine's speed
            // (a holder that keeps up with a burst rightly takes all of it); once it has max-imbalance (4) more than
            // the other node, the guard sends the rest there
            String other = holder.equals("p1") ? "p2" : "p1";
            NodeProcess frozen = holder.equals("p1") ? p1 : p2;
            List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
            frozen.freeze(true);
            try {
                for (int i = 0; i < 16; i++) {
                    burst.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                            .POST(HttpRequest.BodyPublishers.ofString(request(system + "Burst " + i + "?", 24))).build(),
                            HttpResponse.BodyHandlers.ofString()));
                }
                awaitGuard(http, base, holder, other, after.get(other), all);
            } finally {
                frozen.freeze(false);
            }
            for (CompletableFuture<HttpResponse<String>> f : burst) {
                HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
            }
            Map<String, Long> burstDone = firstTokens(http, base, 22);
            assertTrue(burstDone.get(holder) >= after.get(holder) + 5, "the holder took at least 5: " + burstDone);
            assertTrue(burstDone.get(other) > after.get(other), "the burst never reached " + other + ": " + burstDone);
            String metrics = HttpClusterIT.raw(http, base + "/metrics", null).body();
            assertTrue(metrics.contains("baton_routing_decisions_total{reason=\"prefix\",role=\"prefill\"}"),
                    "routing decisions metered");
            assertTrue(metrics.contains("baton_kv_events_applied_total"), "KV events metered");

            // the same prompt under a tenant's cache salt: none of the shared blocks, the same answer; then
            // its own blocks, once the router has indexed them
            String salted = first.substring(0, first.length() - 1) + ",\"cache_salt\":\"tenant-a\"}";
            long indexed = indexedBlocks(http, base);
            JsonNode s1 = HttpClusterIT.post(http, base + "/v1/completions", salted);
            assertEquals(0, s1.at("/usage/prompt_tokens_details/cached_tokens").asInt(), "salted: " + s1);
            assertEquals(r1.at("/choices/0/text").asText(), s1.at("/choices/0/text").asText());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (indexedBlocks(http, base) < indexed + (promptTokens - 1) / 16) {
                assertTrue(System.nanoTime() < deadline, "the salted blocks never reached the router's index");
                Thread.sleep(200);
            }
            JsonNode s2 = HttpClusterIT.post(http, base + "/v1/completions", salted);
            assertTrue(s2.at("/usage/prompt_tokens_details/cached_tokens").asInt() >= 16 * ((promptTokens - 1) / 16),
                    "the salted prompt again reuses its own blocks: " + s2);
        }
    }

    /**
     * Waits (up to 20 s) until the router holds 5 requests in flight on the frozen {@code holder} (max-imbalance + 1)
     * and {@code other} has computed a request more than {@code otherBefore}: the guard sent it there.
     */
    static void awaitGuard(HttpClient http, String base, String holder, String other, long otherBefore,
            List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            int held = 0;
            long computed = 0;
            for (JsonNode v : DisaggregatedClusterIT.nodes(http, base)) {
                if (v.get("node").asText().equals(holder)) {
                    held = v.get("in_flight").asInt();
                } else if (v.get("node").asText().equals(other)) {
                    computed = v.get("generated_tokens").asLong();
                }
            }
            if (held >= 5 && computed > otherBefore) {
                return;
            }
            int h = held;
            long c = computed;
            assertTrue(System.nanoTime() < deadline, () -> "the frozen " + holder + " has " + h + " in flight, " + other
                    + " computed " + (c - otherBefore) + " of the burst\n" + DisaggregatedClusterIT.logs(all));
            Thread.sleep(100);
        }
    }

    /** Blocks the router's index holds for the prefill nodes, in all. */
    static long indexedBlocks(HttpClient http, String base) throws Exception {
        long n = 0;
        for (JsonNode node : DisaggregatedClusterIT.nodes(http, base)) {
            if (node.get("role").asText().equals("prefill")) {
                n += node.at("/kv/blocks_indexed").asLong();
            }
        }
        return n;
    }

    static String request(String prompt, int maxTokens) {
        return "{\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true}";
    }

    /** Waits until the router's index lists blocks for one prefill node, and returns it. */
    static String awaitIndexed(HttpClient http, String base, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (n.get("role").asText().equals("prefill") && n.at("/kv/blocks_indexed").asInt() > 0) {
                    return n.get("node").asText();
                }
            }
            assertTrue(System.nanoTime() < deadline, () -> "no KV events reached the router\n" + DisaggregatedClusterIT.logs(all));
            Thread.sleep(200);
        }
    }

    /**
     * First tokens generated per prefill node (one per request it computed), once the load reports
     * (every 500 ms) account for {@code requests} requests in all, or after 20 s.
     */
    static Map<String, Long> firstTokens(HttpClient http, String base, long requests) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            Map<String, Long> m = new HashMap<>();
            long total = 0;
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (n.get("role").asText().equals("prefill")) {
                    m.put(n.get("node").asText(), n.get("generated_tokens").asLong());
                    total += n.get("generated_tokens").asLong();
                }
            }
            if (total == requests || System.nanoTime() > deadline) {
                return m;
            }
            Thread.sleep(200);
        }
    }
}
