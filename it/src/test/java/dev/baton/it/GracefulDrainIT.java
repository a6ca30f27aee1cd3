package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graceful drain on a real cluster (router, two prefill and two decode node processes): SIGTERM of a
 * decode node and then of a prefill node while 16 streams run, and every stream completes with the text
 * of an undisturbed run; then a rolling restart of the nodes left under a steady load (each node in turn
 * drained, by SIGTERM or by {@code bin/baton drain NODE}, and replaced): no request fails and no KV block
 * stays in use.
 */
@Timeout(420)
class GracefulDrainIT {

    static final int STREAMS = 16;
    static final int MAX_TOKENS = 160;
    /** The status of a JVM that ran its shutdown hooks after SIGTERM (128 + 15), as systemd and Kubernetes expect. */
    static final int SIGTERM_EXIT = 143;

    @Test
    void shouldFinishEveryStreamWhenANodeIsDrainedAndLoseNothingInARollingRestart(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        List<NodeProcess> all = new ArrayList<>();
        try {
            all.add(NodeProcess.start(dir, "router", "router", "--model", DisaggregatedClusterIT.MODEL.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed));
            NodeProcess p1 = add(all, DisaggregatedClusterIT.node(dir, "p1", "prefill", seed));
            NodeProcess p2 = add(all, DisaggregatedClusterIT.node(dir, "p2", "prefill", seed));
            NodeProcess d1 = add(all, DisaggregatedClusterIT.node(dir, "d1", "decode", seed));
            NodeProcess d2 = add(all, DisaggregatedClusterIT.node(dir, "d2", "decode", seed));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            ConcurrentStreamsIT.awaitReady(http, base, 4, all, 180);

            List<String> expected = texts(streams(http, base));

            // a decode node, then a prefill node, drained by SIGTERM while 16 streams run
            NodeProcess replacementDecode = drainDuringStreams(http, base, "decode", all, expected, dir, seed,
                    d1, d2, "d3");
            NodeProcess replacementPrefill = drainDuringStreams(http, base, "prefill", all, expected, dir, seed,
                    p1, p2, "p3");

            // a rolling restart of the two nodes left from the start, under a steady load
            awaitServing(http, base, List.of(replacementDecode.name(), replacementPrefill.name()), all);
            AtomicBoolean loading = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 2; c++) {
                int client = c;
                clients.add(Thread.ofPlatform().start(() -> steadyLoad(http, base, client, loading, ok, failures)));
            }
            NodeProcess older = all.contains(d2) ? d2 : d1;
            NodeProcess d4 = restart(http, base, older, "decode", "d4", all, dir, seed, false);
            NodeProcess olderPrefill = all.contains(p2) ? p2 : p1;
            NodeProcess p4 = restart(http, base, olderPrefill, "prefill", "p4", all, dir, seed, true);
            Thread.sleep(1000);
            loading.set(false);
            for (Thread t : clients) {
                t.join(TimeUnit.SECONDS.toMillis(60));
            }
            assertTrue(failures.isEmpty(), () -> failures.size() + " request(s) failed during the rolling restart: "
                    + failures + "\n" + DisaggregatedClusterIT.logs(all));
            assertTrue(ok.get() >= 4, "the steady load ran only " + ok.get() + " request(s)");
            List<String> left = new ArrayList<>();
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                left.add(n.get("node").asText());
            }
            assertEquals(List.of("d3", "d4", "p3", "p4"), left.stream().sorted().toList(),
                    "the cluster after the restarts: the replacements only");
            // nothing leaked: every node idle, no block in use (leases are long over: every request ended)
            DisaggregatedClusterIT.awaitIdle(http, base, 4, all);
            assertEquals(STREAMS, expected.size());
            assertTrue(p4.process.isAlive() && d4.process.isAlive());
        } finally {
            for (NodeProcess p : all.reversed()) {
                p.close();
            }
        }
    }

    /**
     * Starts 16 streams, SIGTERMs whichever of {@code a} and {@code b} (of {@code role}) holds streams, checks
     * that every stream completes with its undisturbed text, that the node exits by itself (status 0) and
     * leaves the cluster, and starts a replacement named {@code replacement}.
     */
    private static NodeProcess drainDuringStreams(HttpClient http, String base, String role, List<NodeProcess> all,
            List<String> expected, Path dir, String seed, NodeProcess a, NodeProcess b, String replacement)
            throws Exception {
        List<CompletableFuture<HttpResponse<Stream<String>>>> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(http.sendAsync(greedyStream(base, i),
                    HttpResponse.BodyHandlers.ofLines()));
        }
        String victimId = DisaggregatedClusterIT.awaitBusy(http, base, role);
        NodeProcess victim = victimId.equals(a.name()) ? a : b;
        victim.process.destroy(); // SIGTERM
        assertEquals(expected, texts(streams), "streams while " + victimId + " drained");
        assertTrue(victim.process.waitFor(60, TimeUnit.SECONDS), victimId + " did not exit after draining\n" + victim.log());
        assertEquals(SIGTERM_EXIT, victim.process.exitValue(), victimId + " exit status\n" + victim.log());
        assertTrue(victim.log().contains("drained"), victimId + " logged no drain\n" + victim.log());
        awaitGone(http, base, victimId, all);
        all.remove(victim);
        return add(all, DisaggregatedClusterIT.node(dir, replacement, role, seed));
    }

    /**
     * Drains {@code node} (SIGTERM, or {@code bin/baton drain NODE} through the router when {@code viaCli}), waits
     * for it to exit, starts its replacement and waits until it serves.
     */
    private static NodeProcess restart(HttpClient http, String base, NodeProcess node, String role, String replacement,
            List<NodeProcess> all, Path dir, String seed, boolean viaCli) throws Exception {
        if (viaCli) {
            ProcessBuilder pb = new ProcessBuilder(NodeProcess.root().resolve("bin/baton").toString(), "drain", node.name(),
                    "--router", base, "--wait", "60").redirectErrorStream(true);
            pb.environment().put("BATON_SKIP_BUILD", "1");
            pb.environment().put("BATON_JVM_OPTS", "-Xmx128m");
            Process drain = pb.start();
            String out = new String(drain.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(drain.waitFor(90, TimeUnit.SECONDS), "bin/baton drain did not return");
            assertEquals(0, drain.exitValue(), out);
            assertTrue(out.contains(node.name() + " left the cluster"), out);
        } else {
            node.process.destroy();
        }
        assertTrue(node.process.waitFor(60, TimeUnit.SECONDS), node.name() + " did not exit\n" + node.log());
        assertEquals(viaCli ? 0 : SIGTERM_EXIT, node.process.exitValue(), node.name() + " exit status\n" + node.log());
        assertTrue(node.log().contains("drained"), node.name() + " logged no drain\n" + node.log());
        awaitGone(http, base, node.name(), all);
        all.remove(node);
        NodeProcess started = add(all, DisaggregatedClusterIT.node(dir, replacement, role, seed));
        awaitServing(http, base, List.of(replacement), all);
        return started;
    }

    /** One client: requests one after another until {@code loading} is off; every answer must be a 200 completion. */
    private static void steadyLoad(HttpClient http, String base, int client, AtomicBoolean loading, AtomicInteger ok,
            ConcurrentLinkedQueue<String> failures) {
        int i = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (loading.get() && System.nanoTime() < deadline) {
            String body = "{\"prompt\":\"steady " + client + " " + (i++ % 5) + "\",\"max_tokens\":24,\"ignore_eos\":true}";
            try {
                HttpResponse<String> r = HttpClusterIT.raw(http, base + "/v1/completions", body);
                JsonNode json = DisaggregatedClusterIT.JSON.readTree(r.body());
                if (r.statusCode() != 200 || json.at("/usage/completion_tokens").asInt() != 24) {
                    failures.add(r.statusCode() + " " + r.body());
                } else {
                    ok.incrementAndGet();
                }
            } catch (Exception e) {
                failures.add(e.toString());
            }
        }
    }

    /** A greedy streamed completion of {@link #prompt(int) prompt i}: the same text on every run. */
    static HttpRequest greedyStream(String base, int i) {
        return HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt(i)
                        + "\",\"max_tokens\":" + MAX_TOKENS + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true}"))
                .build();
    }

    static String prompt(int i) {
        return "Once upon a time in town " + (i % 8);
    }

    static NodeProcess add(List<NodeProcess> all, NodeProcess p) {
        all.add(p);
        return p;
    }

    private static List<CompletableFuture<HttpResponse<Stream<String>>>> streams(HttpClient http, String base) {
        List<CompletableFuture<HttpResponse<Stream<String>>>> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(http.sendAsync(greedyStream(base, i),
                    HttpResponse.BodyHandlers.ofLines()));
        }
        return streams;
    }

    /** The text of each stream, which must end with [DONE] and carry no error event. */
    private static List<String> texts(List<CompletableFuture<HttpResponse<Stream<String>>>> streams) throws Exception {
        List<String> texts = new ArrayList<>();
        for (CompletableFuture<HttpResponse<Stream<String>>> s : streams) {
            HttpResponse<Stream<String>> r = s.get(120, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            List<String> data = r.body().filter(l -> l.startsWith("data: ")).toList();
            assertEquals("data: [DONE]", data.get(data.size() - 1));
            StringBuilder text = new StringBuilder();
            int tokens = 0;
            for (String line : data.subList(0, data.size() - 1)) {
                assertFalse(line.contains("\"error\""), "a stream failed: " + line);
                JsonNode choice = DisaggregatedClusterIT.JSON.readTree(line.substring(6)).at("/choices/0");
                text.append(choice.at("/text").asText(""));
                tokens++;
            }
            assertTrue(tokens > 0);
            texts.add(text.toString());
        }
        return texts;
    }

    /** Waits until the router no longer lists {@code id} (it left the cluster). */
    static void awaitGone(HttpClient http, String base, String id, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            boolean listed = false;
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                listed |= n.get("node").asText().equals(id);
            }
            if (!listed) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, () -> id + " still listed after it exited\n"
                    + DisaggregatedClusterIT.logs(all));
            Thread.sleep(200);
        }
    }

    /** Waits until the router lists each of {@code ids} as reachable, not draining, with its KV pool reported. */
    static void awaitServing(HttpClient http, String base, List<String> ids, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            int serving = 0;
            for (JsonNode n : DisaggregatedClusterIT.nodes(http, base)) {
                if (ids.contains(n.get("node").asText()) && n.get("reachable").asBoolean() && !n.get("draining").asBoolean()
                        && n.at("/kv/blocks_total").asInt() > 0) {
                    serving++;
                }
            }
            if (serving == ids.size()) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, () -> ids + " not serving\n" + DisaggregatedClusterIT.logs(all));
            Thread.sleep(300);
        }
    }
}
