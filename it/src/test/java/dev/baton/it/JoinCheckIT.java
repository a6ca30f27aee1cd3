package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Join-time refusal and readiness on a real cluster of node processes (router, prefill and decode nodes on
 * tiny-f32): the router's {@code /ready} is 503 while only a prefill node serves, 200 once a decode node
 * joins; a decode node with another block size and a prefill node with another model file (tiny-q8_0, the
 * same model name) are refused when they join: both sides log the difference, the refused node exits with an
 * error, it never appears among the router's nodes, and the cluster keeps serving; {@code /ready} is 503
 * again once the decode node leaves.
 */
@Timeout(300)
class JoinCheckIT {

    static final Path OTHER_MODEL = DisaggregatedClusterIT.MODEL.resolveSibling("tiny-q8_0.gguf");

    @Test
    void shouldRefuseMismatchedNodesAtJoinAndBeReadyOnlyWithAPrefillAndDecodePair(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        List<NodeProcess> all = new ArrayList<>();
        try {
            NodeProcess router = GracefulDrainIT.add(all, NodeProcess.start(dir, "router", "router", "--model",
                    DisaggregatedClusterIT.MODEL.toString(), "--port", Integer.toString(httpPort), "--cluster-port",
                    Integer.toString(seedPort), "--seed", seed));
            GracefulDrainIT.add(all, DisaggregatedClusterIT.node(dir, "p1", "prefill", seed));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            ConcurrentStreamsIT.awaitReady(http, base, 1, all, 120);
            assertEquals(503, ready(http, base), "only a prefill node: nothing can take a request");

            NodeProcess d1 = GracefulDrainIT.add(all, DisaggregatedClusterIT.node(dir, "d1", "decode", seed));
            ConcurrentStreamsIT.awaitReady(http, base, 2, all, 120);
            awaitReady(http, base, 200, all);

            // a decode node with blocks of 32 positions (the cluster's have 16)
            Path conf = dir.resolve("block-32.conf");
            Files.writeString(conf, "include file(\"" + NodeProcess.root().resolve("cluster.conf") + "\")\n"
                    + "baton.engine.block-size = 32\n");
            NodeProcess wrongBlocks = GracefulDrainIT.add(all, DisaggregatedClusterIT.node(dir, "d-block32", "decode", seed,
                    "--config", conf.toString()));
            assertRefused(wrongBlocks, router, "block size 32 (the cluster's: 16)", all);

            // a prefill node of another file of the same model name: another fingerprint
            NodeProcess wrongModel = GracefulDrainIT.add(all, NodeProcess.start(dir, "p-q8", "prefill", "--model",
                    OTHER_MODEL.toString(), "--threads", "1", "--cluster-port", Integer.toString(NodeProcess.freePort()),
                    "--kv-port", Integer.toString(NodeProcess.freePort()), "--kv-reply-port",
                    Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "p-q8"));
            assertRefused(wrongModel, router, "model fingerprint", all);

            // the cluster serves on, and only the nodes that match are in it
            JsonNode r = HttpClusterIT.post(http, base + "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}");
            assertEquals(8, r.at("/usage/completion_tokens").asInt(), r.toString());
            List<String> ids = new ArrayList<>();
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                ids.add(n.get("node").asText());
            }
            assertEquals(List.of("d1", "p1"), ids.stream().sorted().toList(), "the refused nodes were never routing candidates");
            assertEquals(200, ready(http, base));

            d1.process.destroy(); // SIGTERM: drains and leaves
            assertTrue(d1.process.waitFor(60, TimeUnit.SECONDS), "d1 did not exit\n" + d1.log());
            awaitReady(http, base, 503, all);
        } finally {
            for (NodeProcess p : all.reversed()) {
                p.close();
            }
        }
    }

    /** The node exits with an error naming {@code difference}; the router logged the same difference. */
    private static void assertRefused(NodeProcess node, NodeProcess router, String difference, List<NodeProcess> all)
            throws Exception {
        assertTrue(node.process.waitFor(60, TimeUnit.SECONDS), node.name() + " was not refused\n"
                + DisaggregatedClusterIT.logs(all));
        assertNotEquals(0, node.process.exitValue(), node.name() + " exit status\n" + node.log());
        String log = node.log();
        assertTrue(log.contains("was refused by the cluster at join") && log.contains(difference),
                node.name() + " did not say why it was refused\n" + log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(router.log().contains("refused the engine node") && router.log().contains(difference))) {
            assertTrue(System.nanoTime() < deadline, "the router did not log the refusal\n" + router.log());
            Thread.sleep(200);
        }
    }

    static int ready(HttpClient http, String base) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/ready")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private static void awaitReady(HttpClient http, String base, int status, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ready(http, base) != status) {
            assertTrue(System.nanoTime() < deadline, () -> "/ready never answered " + status + "\n"
                    + DisaggregatedClusterIT.logs(all));
            Thread.sleep(200);
        }
    }
}
