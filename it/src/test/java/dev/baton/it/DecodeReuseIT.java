package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prefix reuse on the decode side, across processes (a router, a prefill node, a decode node): a
 * decode node that holds part of a prompt (from an earlier request's imported blocks) receives only
 * the blocks it lacks, and one that holds all of it but a short remainder gets the request whole and
 * computes the remainder itself, without the prefill node. Every answer is the engine's alone.
 */
@Timeout(300)
class DecodeReuseIT {

    private static final Pattern SAMPLE = Pattern.compile("^(\\w+)\\{([^}]*)} ([0-9.eE+-]+)$", Pattern.MULTILINE);

    @Test
    void shouldSendOnlyMissingBlocksAndPrefillAShortRemainderOnTheDecodeNode(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        int decodeMetrics = NodeProcess.freePort();
        int prefillMetrics = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", List.of(
                    "-Dbaton.router.routing.decode-prefill-threshold=64"), "router", "--model",
                    DisaggregatedClusterIT.MODEL.toString(), "--port", Integer.toString(httpPort), "--cluster-port",
                    Integer.toString(seedPort), "--seed", seed);
                NodeProcess p1 = DisaggregatedClusterIT.node(dir, "p1", "prefill", seed, "--metrics-port",
                        Integer.toString(prefillMetrics));
                NodeProcess d1 = DisaggregatedClusterIT.node(dir, "d1", "decode", seed, "--metrics-port",
                        Integer.toString(decodeMetrics))) {
            List<NodeProcess> all = List.of(router, p1, d1);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            String decodeBase = "http://127.0.0.1:" + decodeMetrics;
            String prefillBase = "http://127.0.0.1:" + prefillMetrics;
            ConcurrentStreamsIT.awaitReady(http, base, 2, all, 120);
            String system = "You are a helpful assistant for the tenant number seven. ".repeat(5); // ~ 185 tokens

            // 1. a cold prompt: every block is shipped to the decode node
            String first = system + "First question?";
            JsonNode r1 = complete(http, base, first, all);
            int blocks1 = (r1.at("/usage/prompt_tokens").asInt() + 15) / 16;
            assertEquals(blocks1, imported(http, decodeBase, "transfer"), "every block of the first prompt shipped");
            assertEquals(0, imported(http, decodeBase, "held"));
            awaitDecodeIndexed(http, base, all);
            long prefillTokens = prefillGenerated(http, prefillBase);

            // 2. the same prefix and a long question: the decode node receives only the blocks it lacks
            String second = system + "Now a much longer question that goes on and on, about the many tenants, their"
                    + " system prompts, the blocks they share, and how the nodes of a cluster reuse them instead of"
                    + " computing them again for every request that comes along?";
            JsonNode r2 = complete(http, base, second, all);
            int tokens2 = r2.at("/usage/prompt_tokens").asInt();
            long held = imported(http, decodeBase, "held");
            long shipped = imported(http, decodeBase, "transfer") - blocks1;
            assertTrue(held >= 8, "the decode node held only " + held + " blocks of the shared ~185-token prefix");
            assertEquals((tokens2 + 15) / 16, held + shipped, "held plus shipped blocks make the prompt");
            assertEquals(prefillTokens + 1, prefillGenerated(http, prefillBase), "the prefill node computed the second prompt");
            // same host: once the first transfer showed the decode node maps the prefill node's KV pool,
            // the blocks of the second are copied out of it rather than sent
            String decodeMetricsText = HttpClusterIT.raw(http, decodeBase + "/metrics", null).body();
            double pulled = sample(decodeMetricsText, "baton_kv_transfer_pulled_bytes_total", Map.of("direction", "receive"));
            double received = sample(decodeMetricsText, "baton_kv_transfer_bytes_total", Map.of("direction", "receive"));
            assertTrue(pulled > 0 && received > pulled, "pulled " + pulled + " of " + received + " bytes received");
            assertEquals(0, (received - pulled) % blocks1, "the first transfer's blocks came as bytes");

            // 3. the same prefix and a short question: the decode node computes the remainder itself
            String third = system + "Short?";
            JsonNode r3 = complete(http, base, third, all);
            assertTrue(r3.at("/usage/prompt_tokens_details/cached_tokens").asInt() >= 8 * 16,
                    "the decode node reused its blocks: " + r3);
            assertEquals(prefillTokens + 1, prefillGenerated(http, prefillBase), "the prefill node saw no third request");
            assertEquals(held, imported(http, decodeBase, "held"), "nothing imported for the third request");
            String metrics = HttpClusterIT.raw(http, base + "/metrics", null).body();
            assertEquals(1.0, sample(metrics, "baton_routing_decisions_total", Map.of("role", "decode", "reason", "local")),
                    "one request ran whole on the decode node");
            assertEquals(2.0, sample(metrics, "baton_routing_decisions_total", Map.of("role", "prefill", "reason", "load"))
                    + sample(metrics, "baton_routing_decisions_total", Map.of("role", "prefill", "reason", "prefix")),
                    "two requests went through the prefill node");
        }
    }

    /** Posts a greedy completion and checks its text against the engine alone. */
    private static JsonNode complete(HttpClient http, String base, String prompt, List<NodeProcess> all) throws Exception {
        JsonNode r = HttpClusterIT.post(http, base + "/v1/completions", PrefixRoutingIT.request(prompt, 8));
        try (Engine e = Engine.open(EngineSettings.defaults(DisaggregatedClusterIT.MODEL).withThreads(1)
                .withKvCacheBytes(8L << 20))) {
            int[] ids = e.tokenizer().encode(prompt, true, false);
            String expected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(8)
                    .ignoreEos(true).build(), t -> { }).text();
            assertEquals(expected, r.at("/choices/0/text").asText(), () -> r + "\n" + DisaggregatedClusterIT.logs(all));
            assertEquals(ids.length, r.at("/usage/prompt_tokens").asInt());
        }
        return r;
    }

    /** The decode node's {@code baton.kv.imported.blocks} counter for {@code source}. */
    private static long imported(HttpClient http, String decodeBase, String source) throws Exception {
        String body = HttpClusterIT.raw(http, decodeBase + "/metrics", null).body();
        return (long) sample(body, "baton_kv_imported_blocks_total", Map.of("source", source));
    }

    /** The sum of the Prometheus samples of {@code name} whose labels include {@code labels}. */
    static double sample(String exposition, String name, Map<String, String> labels) {
        double sum = 0;
        boolean found = false;
        Matcher m = SAMPLE.matcher(exposition);
        while (m.find()) {
            if (m.group(1).equals(name) && labels.entrySet().stream()
                    .allMatch(l -> m.group(2).contains(l.getKey() + "=\"" + l.getValue() + "\""))) {
                sum += Double.parseDouble(m.group(3));
                found = true;
            }
        }
        assertTrue(found, "no sample " + name + labels + " in\n" + exposition);
        return sum;
    }

    /** Tokens generated on the prefill node (its first tokens, one per request it computed), from its own metrics. */
    private static long prefillGenerated(HttpClient http, String prefillBase) throws Exception {
        String body = HttpClusterIT.raw(http, prefillBase + "/metrics", null).body();
        return (long) sample(body, "baton_tokens_total", Map.of("phase", "decode"));
    }

    /** Waits until the router's index lists blocks of the decode node (its KV events arrived). */
    private static void awaitDecodeIndexed(HttpClient http, String base, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (n.get("role").asText().equals("decode") && n.at("/kv/blocks_indexed").asInt() > 0) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, () -> "no KV events of the decode node reached the router\n"
                    + DisaggregatedClusterIT.logs(all));
            Thread.sleep(200);
        }
    }
}
