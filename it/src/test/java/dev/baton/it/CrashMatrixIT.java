package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash matrix (docs/design.md §12): a router, two prefill and two decode nodes as separate processes,
 * 16 streams of mixed prompt lengths running (12 greedy, 4 sampled with a seed each) (so that at the fault some are queued, some prefilling,
 * some have their KV on the way and some decode), and one fault at a time: SIGKILL of a decode node, SIGKILL
 * of a prefill node, SIGSTOP for 5 s of a decode node, SIGSTOP for 5 s of a prefill node. Every stream
 * completes with exactly the text the engine alone generates for its prompt (the router moved the streams of
 * the lost node to another one, from the tokens the client had); the router counts the migrations; after
 * each fault every surviving node is back to no block used, nothing running, nothing in flight; at the end,
 * after the peers' idle timeout, every node holds no Aeron publication. A fresh node replaces the lost one before the next fault, so
 * there is always a node left to take the streams over.
 */
@Timeout(420)
class CrashMatrixIT {

    static final Path MODEL = DisaggregatedClusterIT.MODEL;
    static final int STREAMS = 16;
    static final int MAX_TOKENS = 200;

    @Test
    void shouldCompleteEveryStreamTokenIdenticalThroughKillsAndFreezesOfEachRole(@TempDir Path dir) throws Exception {
        String[] prompts = new String[STREAMS];
        String[] expected = new String[STREAMS];
        try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(16L << 20))) {
            for (int i = 0; i < STREAMS; i++) {
                prompts[i] = "story " + i + ": " + "once upon a time ".repeat(1 + 2 * i);
                int[] ids = e.tokenizer().encode(prompts[i], true, false);
                SamplingParams.Builder b = SamplingParams.builder().maxTokens(MAX_TOKENS).ignoreEos(true);
                expected[i] = new Generator(e).generate(ids, (seeded(i) ? b.temperature(0.8f).topK(40).seed(i)
                        : b.temperature(0)).build(), t -> { }).text();
            }
        }
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        List<NodeProcess> all = new ArrayList<>();
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", MODEL.toString(), "--port",
                Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed)) {
            all.add(router);
            NodeProcess p1 = started(all, node(dir, "p1", "prefill", seed));
            NodeProcess p2 = started(all, node(dir, "p2", "prefill", seed));
            NodeProcess d1 = started(all, node(dir, "d1", "decode", seed));
            NodeProcess d2 = started(all, node(dir, "d2", "decode", seed));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            ConcurrentStreamsIT.awaitReady(http, base, 4, all, 150);

            // 1. SIGKILL a decode node
            List<CompletableFuture<HttpResponse<Stream<String>>>> streams = start(http, base, prompts);
            String victim = DisaggregatedClusterIT.awaitBusy(http, base, "decode");
            NodeProcess killed = victim.equals("d1") ? d1 : d2;
            NodeProcess decodeLeft = killed == d1 ? d2 : d1;
            killed.kill();
            assertAllIdentical(streams, expected, all, "SIGKILL of decode node " + victim);
            DisaggregatedClusterIT.awaitMarkedDown(http, base, victim, all);
            DisaggregatedClusterIT.awaitIdle(http, base, 3, all);
            NodeProcess d3 = started(all, node(dir, "d3", "decode", seed));
            awaitNode(http, base, "d3", all);
            double nodeLost = migrations(http, base, "node-lost");
            assertTrue(nodeLost > 0, "the router counted no migration after a decode node was lost");

            // 2. SIGKILL a prefill node right after the streams start: their prompts are queued or prefilling
            streams = start(http, base, prompts);
            awaitInFlight(http, base, "p1");
            p1.kill();
            assertAllIdentical(streams, expected, all, "SIGKILL of prefill node p1");
            DisaggregatedClusterIT.awaitMarkedDown(http, base, "p1", all);
            DisaggregatedClusterIT.awaitIdle(http, base, 3, all);
            NodeProcess p3 = started(all, node(dir, "p3", "prefill", seed));
            awaitNode(http, base, "p3", all);

            // 3. SIGSTOP a decode node for 5 s
            double before = allMigrations(http, base);
            streams = start(http, base, prompts);
            String frozenId = DisaggregatedClusterIT.awaitBusy(http, base, "decode");
            NodeProcess frozen = frozenId.equals("d3") ? d3 : decodeLeft;
            frozen.freeze(true);
            Thread.sleep(5000);
            frozen.freeze(false);
            assertAllIdentical(streams, expected, all, "SIGSTOP for 5 s of decode node " + frozenId);
            awaitQuietOrGone(http, base, all);
            assertMovedAtMostOnce(http, base, before, "SIGSTOP for 5 s of decode node " + frozenId);

            // 4. SIGSTOP a prefill node for 5 s right after the streams start
            ensureDecodePair(http, base, dir, seed, all);
            before = allMigrations(http, base);
            streams = start(http, base, prompts);
            awaitInFlight(http, base, "p2");
            p2.freeze(true);
            Thread.sleep(5000);
            p2.freeze(false);
            assertAllIdentical(streams, expected, all, "SIGSTOP for 5 s of prefill node p2");
            awaitQuietOrGone(http, base, all);
            assertMovedAtMostOnce(http, base, before, "SIGSTOP for 5 s of prefill node p2");
            assertTrue(migrations(http, base, "prefill-lost") > 0, "no migration counted for a lost prefill node");
            assertNoPublicationLeft(http, base, all);
            p3.close();
        } catch (Exception | AssertionError e) {
            throw new AssertionError(e + "\n" + DisaggregatedClusterIT.logs(all), e); // every process's log with it
        } finally {
            for (NodeProcess n : all) {
                n.close();
            }
        }
    }

    /** The metrics port of each node this test started, by node id. */
    private static final Map<String, Integer> METRICS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A node of {@code role} serving its metrics on a port of its own, whose Aeron publications to a peer close
     * after {@link #PEER_IDLE_S} s without a transfer (60 s by default).
     */
    static NodeProcess node(Path dir, String id, String role, String seed) throws Exception {
        int metrics = NodeProcess.freePort();
        METRICS.put(id, metrics);
        return NodeProcess.start(dir, id, List.of("-Dbaton.kv-transfer.aeron.peer-idle-timeout=" + PEER_IDLE_S + "s"),
                role, "--model", MODEL.toString(), "--threads", "1", "--cluster-port", Integer.toString(NodeProcess.freePort()),
                "--kv-port", Integer.toString(NodeProcess.freePort()), "--kv-reply-port",
                Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", id, "--metrics-port",
                Integer.toString(metrics));
    }

    static final int PEER_IDLE_S = 5;

    /** The sum of the samples of {@code name} on node {@code id}'s metrics endpoint. */
    static double metric(HttpClient http, String id, String name) throws Exception {
        String body = HttpClusterIT.raw(http, "http://127.0.0.1:" + METRICS.get(id) + "/metrics", null).body();
        double sum = 0;
        boolean seen = false;
        for (String line : body.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                seen = true;
            }
        }
        assertTrue(seen, "node " + id + " has no " + name + " on its metrics endpoint");
        return sum;
    }

    /**
     * After the faults and the peers' idle timeout, every reachable node holds no Aeron publication (every peer it
     * sent to or answered is idle, dead or gone), as before the first request.
     */
    static void assertNoPublicationLeft(HttpClient http, String base, List<NodeProcess> all) throws Exception {
        Thread.sleep(TimeUnit.SECONDS.toMillis(PEER_IDLE_S + 2));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
            String id = n.get("node").asText();
            if (!n.get("reachable").asBoolean() || !METRICS.containsKey(id)) {
                continue;
            }
            double publications;
            while ((publications = metric(http, id, "baton_kv_transfer_publications")) > 0
                    && System.nanoTime() < deadline) {
                Thread.sleep(250);
            }
            assertEquals(0.0, publications, "node " + id + " still holds Aeron publications to idle or dead peers\n"
                    + DisaggregatedClusterIT.logs(all));
        }
    }

    private static NodeProcess started(List<NodeProcess> all, NodeProcess n) {
        all.add(n);
        return n;
    }

    /** Every fourth stream samples (temperature 0.8, top-k 40) with a seed of its own; the others are greedy. */
    static boolean seeded(int i) {
        return i % 4 == 3;
    }

    static List<CompletableFuture<HttpResponse<Stream<String>>>> start(HttpClient http, String base, String[] prompts) {
        List<CompletableFuture<HttpResponse<Stream<String>>>> streams = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            String sampling = seeded(i) ? "\"temperature\":0.8,\"top_k\":40,\"seed\":" + i : "\"temperature\":0";
            streams.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(150))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompts[i] + "\",\"max_tokens\":"
                            + MAX_TOKENS + "," + sampling + ",\"ignore_eos\":true,\"stream\":true}")).build(),
                    HttpResponse.BodyHandlers.ofLines()));
        }
        return streams;
    }

    /** Every stream ends with [DONE], without an error event, with the text the engine alone generates. */
    static void assertAllIdentical(List<CompletableFuture<HttpResponse<Stream<String>>>> streams, String[] expected,
            List<NodeProcess> all, String fault) throws Exception {
        for (int i = 0; i < streams.size(); i++) {
            HttpResponse<Stream<String>> r = streams.get(i).get(150, TimeUnit.SECONDS);
            List<String> lines = r.body().toList();
            List<String> data = lines.stream().filter(l -> l.startsWith("data: ")).toList();
            int stream = i;
            assertTrue(r.statusCode() == 200 && !data.isEmpty() && data.get(data.size() - 1).equals("data: [DONE]"),
                    () -> fault + ": stream " + stream + " answered " + r.statusCode() + " " + lines + "\n"
                            + DisaggregatedClusterIT.logs(all));
            StringBuilder text = new StringBuilder();
            for (String line : data.subList(0, data.size() - 1)) {
                JsonNode event = DisaggregatedClusterIT.JSON.readTree(line.substring(6));
                assertTrue(!event.has("error"), () -> fault + ": stream " + stream + " ended with " + line + "\n"
                        + DisaggregatedClusterIT.logs(all));
                text.append(event.at("/choices/0/text").asText(""));
            }
            assertEquals(expected[i], text.toString(), fault + ": stream " + i + " differs from the undisturbed run");
        }
    }

    /** The router's baton_router_migrations_total for {@code reason}. */
    static double migrations(HttpClient http, String base, String reason) throws Exception {
        String body = HttpClusterIT.raw(http, base + "/metrics", null).body();
        Matcher m = Pattern.compile("baton_router_migrations_total\\{[^}]*reason=\"" + reason + "\"[^}]*} ([0-9.eE+]+)")
                .matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** The router's migrations, all reasons together. */
    static double allMigrations(HttpClient http, String base) throws Exception {
        return migrations(http, base, "node-lost") + migrations(http, base, "prefill-lost")
                + migrations(http, base, "node-failed");
    }

    /**
     * A frozen node that wakes marks every other node unreachable for a moment (its failure detector heard
     * nothing while it slept): the router moves only the streams of the node it no longer hears from itself,
     * so no stream moves twice and the phase counts at most one migration per stream.
     */
    static void assertMovedAtMostOnce(HttpClient http, String base, double before, String fault) throws Exception {
        double moved = allMigrations(http, base) - before;
        assertTrue(moved <= STREAMS, fault + ": " + moved + " migrations for " + STREAMS + " streams");
    }

    /** Waits until the router has a request in flight on node {@code id}. */
    static void awaitInFlight(HttpClient http, String base, String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (n.get("node").asText().equals(id) && n.get("in_flight").asInt() > 0) {
                    return;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no request went to " + id + ": " + DisaggregatedClusterIT.nodes(http, base));
    }

    /** Waits until node {@code id} is reachable with its KV pool reported. */
    static void awaitNode(HttpClient http, String base, String id, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (n.get("node").asText().equals(id) && n.get("reachable").asBoolean() && n.at("/kv/blocks_total").asInt() > 0) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, () -> id + " did not join\n" + DisaggregatedClusterIT.logs(all));
            Thread.sleep(300);
        }
    }

    /**
     * After a freeze: the frozen node is either back (reachable) or was downed and removed; either way every
     * reachable node ends with no block used, nothing running or waiting and nothing in flight (a node that woke
     * holds nothing of the attempts that moved away from it).
     */
    static void awaitQuietOrGone(HttpClient http, String base, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            JsonNode nodes = DisaggregatedClusterIT.nodes(http, base);
            boolean quiet = true;
            for (JsonNode n : nodes) {
                if (n.get("reachable").asBoolean()) {
                    quiet &= n.at("/kv/blocks_used").asInt() == 0 && n.get("running").asInt() == 0
                            && n.get("waiting").asInt() == 0 && n.get("in_flight").asInt() == 0;
                }
            }
            if (quiet) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, () -> "blocks not freed after the freeze: " + nodes + "\n"
                    + DisaggregatedClusterIT.logs(all));
            Thread.sleep(200);
        }
    }

    /** Starts another decode node when fewer than two are reachable (a frozen one may have been downed). */
    private static void ensureDecodePair(HttpClient http, String base, Path dir, String seed, List<NodeProcess> all)
            throws Exception {
        int decode = 0;
        for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
            decode += n.get("role").asText().equals("decode") && n.get("reachable").asBoolean() ? 1 : 0;
        }
        if (decode < 2) {
            all.add(node(dir, "d4", "decode", seed));
            awaitNode(http, base, "d4", all);
        }
    }
}
