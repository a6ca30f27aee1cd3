package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Baton across hosts: a router, two prefill nodes and two decode nodes, each in a network namespace of its
 * own with its own address ({@link TestHosts}), joined only through {@code --host} and {@code --seed}; the
 * client is the test JVM outside them. Greedy output equals {@code bin/baton generate}'s; the KV travels as
 * bytes over Aeron UDP between the hosts (the decode nodes' transfer meters count received bytes and no
 * shared-memory pull); each node's {@code /ready} answers on its host's address; a node that would advertise
 * loopback to a seed on another host refuses to start, naming {@code --host}.
 */
@Timeout(300)
class MultiHostIT {

    private static final int CLUSTER_PORT = 25520;
    private static final int HTTP_PORT = 8000;
    private static final int METRICS_PORT = 9100;

    @Test
    void shouldServeFromNodesOnFiveHostsWithKvOverUdp(@TempDir Path dir) throws Exception {
        TestHosts.assumeAvailable();
        List<NodeProcess> all = new ArrayList<>();
        try (TestHosts hosts = TestHosts.create(5)) {
            TestHosts.Host routerHost = hosts.host(0);
            String seed = routerHost.address() + ":" + CLUSTER_PORT;
            all.add(NodeProcess.startIn(hosts, routerHost, dir, "router", List.of(), "router",
                    "--model", DisaggregatedClusterIT.MODEL.toString(), "--host", routerHost.address(),
                    "--cluster-port", Integer.toString(CLUSTER_PORT), "--seed", seed,
                    "--http-host", routerHost.address(), "--port", Integer.toString(HTTP_PORT)));
            String[] names = {"prefill-1", "prefill-2", "decode-1", "decode-2"};
            for (int i = 0; i < names.length; i++) {
                TestHosts.Host h = hosts.host(i + 1);
                // every host has its own host tier, as separate machines would
                all.add(NodeProcess.startIn(hosts, h, dir, names[i],
                        List.of("-Dbaton.kv-transfer.host-tier.directory=" + dir.resolve("tier-" + names[i])),
                        names[i].substring(0, names[i].indexOf('-')), "--model", DisaggregatedClusterIT.MODEL.toString(),
                        "--threads", "1", "--host", h.address(), "--seed", seed, "--node-id", names[i],
                        "--metrics-port", Integer.toString(METRICS_PORT)));
            }
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://" + routerHost.address() + ":" + HTTP_PORT;
            ConcurrentStreamsIT.awaitReady(http, base, 4, all, 180);

            JsonNode nodes = DisaggregatedClusterIT.nodes(http, base);
            for (JsonNode n : nodes) {
                String id = n.get("node").asText();
                TestHosts.Host h = hosts.host(List.of(names).indexOf(id) + 1);
                assertEquals("pekko://baton@" + h.address() + ":" + CLUSTER_PORT, n.get("address").asText(), nodes.toString());
                if (id.startsWith("decode")) {
                    assertEquals("aeron:udp?endpoint=" + h.address() + ":" + (20000 + CLUSTER_PORT % 20000) + "#1001",
                            n.get("kv_endpoint").asText(), "the KV endpoint is advertised on the host's address");
                }
                // the router lists a node once it reports its load; the node says ready once it is Up in the cluster
                awaitStatus(http, "http://" + h.address() + ":" + METRICS_PORT + "/ready", 200, id);
            }

            String prompt = "Once upon a time there was a little";
            String expected = DisaggregatedClusterIT.generate(dir, prompt, 40).get("text").asText();
            long before = receivedBytes(http, hosts, names);
            for (int i = 0; i < 4; i++) { // spread over both pairs
                JsonNode r = HttpClusterIT.post(http, base + "/v1/completions",
                        "{\"prompt\":\"" + prompt + "\",\"max_tokens\":40,\"temperature\":0,\"cache_salt\":\"run-" + i + "\"}");
                assertEquals(expected, r.at("/choices/0/text").asText(), r.toString());
            }
            int decodeNodesWithBytes = 0;
            for (int i = 2; i < 4; i++) {
                String text = metrics(http, hosts.host(i + 1));
                double bytes = counter(text, "baton_kv_transfer_bytes_total", "direction=\"receive\"");
                decodeNodesWithBytes += bytes > 0 ? 1 : 0;
                assertEquals(0.0, counter(text, "baton_kv_transfer_pulled_bytes_total", "direction=\"receive\""),
                        names[i] + " pulled KV through shared memory from another host");
            }
            assertTrue(receivedBytes(http, hosts, names) > before, "no KV bytes crossed between the hosts");
            assertTrue(decodeNodesWithBytes >= 1, "no decode node received KV bytes");
            DisaggregatedClusterIT.awaitIdle(http, base, 4, all);

            // a node on another host that would advertise loopback refuses to start and names the flag
            TestHosts.Host h = hosts.host(4);
            NodeProcess wrong = NodeProcess.startIn(hosts, h, dir, "loopback", List.of(), "decode", "--model",
                    DisaggregatedClusterIT.MODEL.toString(), "--threads", "1", "--cluster-port", "25530", "--seed", seed);
            assertTrue(wrong.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "it should exit at once");
            assertEquals(1, wrong.process.exitValue());
            assertTrue(wrong.log().contains("set --host"), wrong.log());
        } finally {
            for (NodeProcess p : all.reversed()) {
                p.close();
            }
        }
    }

    private static void awaitStatus(HttpClient http, String url, int status, String what) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        int last;
        while ((last = HttpClusterIT.status(http, url)) != status) {
            assertTrue(System.nanoTime() < deadline, what + ": " + url + " answered " + last + ", not " + status);
            Thread.sleep(200);
        }
    }

    private static long receivedBytes(HttpClient http, TestHosts hosts, String[] names) throws Exception {
        long sum = 0;
        for (int i = 2; i < 4; i++) {
            sum += (long) counter(metrics(http, hosts.host(i + 1)), "baton_kv_transfer_bytes_total", "direction=\"receive\"");
        }
        return sum;
    }

    private static String metrics(HttpClient http, TestHosts.Host h) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://" + h.address() + ":" + METRICS_PORT + "/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The sum of the Prometheus samples of {@code name} whose labels contain {@code label}. */
    static double counter(String text, String name, String label) {
        double sum = 0;
        Pattern p = Pattern.compile("^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(text);
        while (m.find()) {
            if (m.group(1).contains(label)) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }
}
