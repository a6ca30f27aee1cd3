package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host tier across node processes (docs/design.md §6): a worker with a small KV pool serves a long
 * prompt, then other prompts that evict its blocks, which spill into the host tier; the worker is
 * stopped, and a new worker process on the same tier answers the same prompt from blocks read back
 * (cached tokens on its very first request) with the same text.
 */
@Timeout(300)
class HostTierIT {

    static final Path MODEL = HttpClusterIT.MODEL;
    static final int BS = EngineSettings.DEFAULT_BLOCK_SIZE;

    @Test
    void shouldAnswerFromBlocksAStoppedWorkerSpilledIntoTheHostTier(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        long blockBytes;
        try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(1L << 20))) {
            blockBytes = e.pool().spec().blockBytes();
        }
        Path tier = dir.resolve("tier");
        Path conf = dir.resolve("node.conf");
        Files.writeString(conf, Files.readString(NodeProcess.root().resolve("cluster.conf"))
                + "\nbaton.engine.kv-cache-bytes = " + 40 * blockBytes // 40 blocks: two long prompts at most
                + "\nbaton.kv-transfer.host-tier { directory = \"" + tier + "\", capacity = 16MiB }\n");
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + httpPort;
        String prompt = "The lighthouse keeper wrote in her log every evening before the lamp was lit. ".repeat(7);
        List<NodeProcess> all = new ArrayList<>();
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", MODEL.toString(), "--port",
                Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed)) {
            all.add(router);
            String text;
            int promptTokens;
            int metricsPort = NodeProcess.freePort();
            try (NodeProcess a = worker(dir, "w1", conf, seed, metricsPort)) {
                all.add(a);
                awaitReady(http, base, "w1", all);
                JsonNode first = HttpClusterIT.post(http, base + "/v1/completions", request(prompt));
                // one request at a time, each once the router has a load report from after the last one: it
                // frees the blocks it reserved for a request only with the node's next report
                awaitReported(http, base, "w1", 8, all);
                promptTokens = first.at("/usage/prompt_tokens").asInt();
                assertTrue(promptTokens > 10 * BS && promptTokens < 400, "prompt of " + promptTokens + " tokens");
                assertEquals(0, first.at("/usage/prompt_tokens_details/cached_tokens").asInt(), first.toString());
                text = first.at("/choices/0/text").asText();
                for (int i = 0; i < 4; i++) { // each takes about half the pool: the first prompt's blocks are evicted
                    HttpClusterIT.post(http, base + "/v1/completions",
                            request(("Request " + i + " asks about something else entirely, in other words. ").repeat(6)));
                    awaitReported(http, base, "w1", 8 * (i + 2), all);
                }
                String metrics = HttpClusterIT.raw(http, "http://127.0.0.1:" + metricsPort + "/metrics", null).body();
                double spilled = counter(metrics, "baton_host_tier_spilled_blocks");
                // the first prompt's blocks (prompt and answer: 7 positions of the answer are written) are the
                // oldest, so the first evicted and spilled
                assertTrue(spilled >= (promptTokens + 7) / BS, "spilled " + spilled + " blocks:\n" + metrics);
            }
            all.removeIf(n -> !n.process.isAlive());
            assertTrue(Files.size(tier.resolve("default.slab")) > 0, "the tier's files outlive the worker");
            DisaggregatedClusterIT.awaitMarkedDown(http, base, "w1", all);

            try (NodeProcess b = worker(dir, "w2", conf, seed, NodeProcess.freePort())) {
                all.add(b);
                awaitReady(http, base, "w2", all);
                JsonNode again = HttpClusterIT.post(http, base + "/v1/completions", request(prompt));
                assertEquals(BS * ((promptTokens - 1) / BS), again.at("/usage/prompt_tokens_details/cached_tokens").asInt(),
                        "the new worker read every full block but the last position's back: " + again + "\n"
                                + DisaggregatedClusterIT.logs(all));
                assertEquals(text, again.at("/choices/0/text").asText(), "the same text as computing the prompt");
            }
        }
    }

    static NodeProcess worker(Path dir, String id, Path conf, String seed, int metricsPort) throws Exception {
        return NodeProcess.start(dir, id, "worker", "--model", MODEL.toString(), "--config", conf.toString(), "--threads",
                "1", "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", id,
                "--metrics-port", Integer.toString(metricsPort));
    }

    static String request(String prompt) {
        return "{\"prompt\":\"" + prompt + "\",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}";
    }

    /** Waits until the router lists node {@code id} as reachable with its KV pool. */
    static void awaitReady(HttpClient http, String base, String id, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try {
                for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                    if (n.get("node").asText().equals(id) && n.get("reachable").asBoolean()
                            && n.at("/kv/blocks_total").asInt() > 0) {
                        return;
                    }
                }
            } catch (Exception e) {
                // the router is not up yet
            }
            assertTrue(System.nanoTime() < deadline, () -> id + " not ready:\n" + DisaggregatedClusterIT.logs(all));
            Thread.sleep(300);
        }
    }

    /**
     * Waits until the router's last load report of node {@code id} counts {@code generatedTokens} and shows
     * the node idle: a report taken after the requests that generated them ended.
     */
    static void awaitReported(HttpClient http, String base, String id, long generatedTokens, List<NodeProcess> all)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (n.get("node").asText().equals(id) && n.get("generated_tokens").asLong() >= generatedTokens
                        && n.get("running").asInt() == 0 && n.at("/kv/blocks_used").asInt() == 0) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, () -> "no idle load report of " + id + "\n"
                    + DisaggregatedClusterIT.logs(all));
            Thread.sleep(100);
        }
    }

    /** The value of the first sample of {@code name} in a Prometheus scrape. */
    static double counter(String scrape, String name) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name) && !line.startsWith("#")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError(name + " not in the scrape:\n" + scrape);
    }
}
