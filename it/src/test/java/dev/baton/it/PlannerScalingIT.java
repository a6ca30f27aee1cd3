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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SLO planner acting on a local cluster (bin/baton up with baton.planner.mode = act, connector local, one to
 * two nodes per pool): a load makes it start a second prefill node, which joins and takes requests; when the
 * load stops it drains one prefill node after the scale-down window and that node's process ends; no request
 * fails. The profile is a synthetic, deliberately slow one (prefill 100 ms + 10 ms per token), so that a few
 * requests per second need two prefill nodes: on two cores a second node adds no compute, so this test checks
 * the mechanism; the simulator (bench) checks the value.
 */
@Timeout(300)
class PlannerScalingIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldStartASecondPrefillNodeUnderLoadAndDrainOneWhenTheLoadStops(@TempDir Path dir) throws Exception {
        Path profile = Path.of("src/test/resources/planner/slow-prefill-profile.json").toAbsolutePath();
        Path conf = dir.resolve("planner.conf");
        Files.writeString(conf, """
                include file("%s")
                baton.planner {
                  mode = act
                  connector = local
                  profile = "%s"
                  interval = 2s
                  objectives { ttft = 2s, itl = 200ms, percentile = 90 }
                  pools { prefill { min = 1, max = 2 }, decode { min = 1, max = 2 } }
                  node-budget = 4
                  scale-up { window = 0s, cooldown = 0s }
                  scale-down { window = 8s, cooldown = 4s }
                  pending-timeout = 120s
                  # The profile is synthetic: keep it as it is (the real nodes are far faster than it says).
                  correction { min = 1.0, max = 1.0 }
                  local { heap = 384m, threads = 1, cluster-port = %d, metrics-port = %d, kv-port = %d }
                }
                # Every request through a prefill node (a decode node that holds most of a prompt would otherwise
                # compute the rest itself).
                baton.router.routing.decode-prefill-threshold = 0
                """.formatted(NodeProcess.root().resolve("cluster.conf"), profile, NodeProcess.freePort(), NodeProcess.freePort(),
                NodeProcess.freePort()));
        int port = NodeProcess.freePort();
        Path model = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
        int up = UpDownIT.run(dir, "up.log", "up", "--config", conf.toString(), "--model", model.toString(), "--port",
                Integer.toString(port), "--cluster-port", Integer.toString(NodeProcess.freePort()), "--threads", "1",
                "--node-heap", "384m");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + port;
        AtomicBoolean loading = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        List<Thread> clients = new ArrayList<>();
        try {
            assertEquals(0, up, Files.readString(dir.resolve("up.log")));
            long loadDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            AtomicInteger sent = new AtomicInteger();
            for (int c = 0; c < 2; c++) {
                Thread t = Thread.ofPlatform().name("load-" + c).start(() -> {
                    while (loading.get() && System.nanoTime() < loadDeadline) {
                        try {
                            // A number first: no two prompts share a block, so every prompt is computed in full.
                            int n = sent.incrementAndGet();
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + n + " " + n * 7919
                                            + ": once upon a time there was a little robot who wanted to learn how to paint"
                                            + " the sea\",\"max_tokens\":4}"))
                                    .build(), HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200) {
                                ok.incrementAndGet();
                            } else {
                                failures.add(r.statusCode() + " " + r.body());
                            }
                            Thread.sleep(150);
                        } catch (InterruptedException e) {
                            return;
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                    }
                });
                clients.add(t);
            }
            // The planner starts a second prefill node; it joins and takes requests.
            JsonNode two = await(http, base, 150, v -> prefill(v).size() == 2 && prefill(v).stream()
                    .allMatch(n -> n.get("reachable").asBoolean() && !n.get("draining").asBoolean()
                            && n.get("generated_tokens").asLong() > 0));
            String started = prefill(two).stream().map(n -> n.get("node").asText()).filter(id -> !id.equals("prefill-1"))
                    .findFirst().orElseThrow();
            JsonNode plan = JSON.readTree(get(http, base + "/v1/planner"));
            assertEquals("act", plan.get("mode").asText());
            assertEquals("local", plan.get("connector").asText());

            loading.set(false);
            for (Thread t : clients) {
                t.join(TimeUnit.SECONDS.toMillis(70));
            }
            assertTrue(failures.isEmpty(), "requests failed while the pool grew: " + failures);
            int served = ok.get();
            assertTrue(served > 0);

            // No load: after the scale-down window one prefill node drains and leaves, the other stays.
            JsonNode one = await(http, base, 90, v -> prefill(v).size() == 1
                    && !prefill(v).get(0).get("draining").asBoolean());
            String left = prefill(one).get(0).get("node").asText();
            assertTrue(left.equals("prefill-1") || left.equals(started), one.toString());
            String routerLog = Files.readString(NodeProcess.root().resolve("run/current/router.log"));
            assertTrue(routerLog.contains("planner: start 1 prefill node(s)"), "the router log records the start");
            assertTrue(routerLog.contains("planner: drain "), "the router log records the drain");
            assertTrue(routerLog.contains("\"reason\":\"scale down 2 -> 1"), "a JSON record gives the reason");
            // The pool still serves.
            HttpResponse<String> after = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Hi\",\"max_tokens\":3}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, after.statusCode(), after.body());
        } finally {
            loading.set(false);
            for (Thread t : clients) {
                t.interrupt();
            }
            List<Long> pids = pids();
            assertEquals(0, UpDownIT.run(dir, "down.log", "down"), Files.readString(dir.resolve("down.log")));
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(p -> {
                    try {
                        p.onExit().get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        // checked below
                    }
                });
                assertTrue(ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true),
                        "process " + pid + " (bin/baton up's or the planner's) outlived bin/baton down");
            }
        }
    }

    private static List<Long> pids() throws Exception {
        Path file = NodeProcess.root().resolve("run/current/pids");
        List<Long> out = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    out.add(Long.parseLong(line.trim()));
                }
            }
        }
        return out;
    }

    private static List<JsonNode> prefill(JsonNode view) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : view.get("nodes")) {
            if (n.get("role").asText().equals("prefill")) {
                out.add(n);
            }
        }
        return out;
    }

    private static String get(HttpClient http, String url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), url + ": " + r.body());
        return r.body();
    }

    private static JsonNode await(HttpClient http, String base, int seconds, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            last = JSON.readTree(get(http, base + "/v1/cluster"));
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("not reached in " + seconds + " s; cluster: " + last + "; planner: " + get(http, base + "/v1/planner"));
    }
}
