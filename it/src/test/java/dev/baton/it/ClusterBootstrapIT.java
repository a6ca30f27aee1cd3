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
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A router, a prefill and a decode node, each in a network namespace of its own (three "hosts", as three
 * pods), form their cluster through Pekko Management's Cluster Bootstrap with no seed node anywhere: each
 * discovers the three management endpoints (pekko-discovery's {@code config} method standing in for the
 * Kubernetes API the Helm chart uses), probes them, and the lowest address forms the cluster the others join.
 * Every node uses the same ports, on its own address, as pods do. Then every management endpoint answers
 * {@code /alive} and {@code /ready} with 200 and the router serves a completion across the three hosts.
 */
@Timeout(300)
class ClusterBootstrapIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final ObjectMapper JSON = new ObjectMapper();
    static final int MANAGEMENT_PORT = 7626;
    static final int CLUSTER_PORT = 25520;
    static final int HTTP_PORT = 8000;

    @BeforeAll
    static void namespacesAvailable() {
        TestHosts.assumeAvailable();
    }

    /** The nodes' cluster.conf: the repository's, with bootstrap over config discovery and no seed nodes. */
    static String clusterConf(List<TestHosts.Host> hosts) {
        String endpoints = hosts.stream()
                .map(h -> "{ host = \"" + h.address() + "\", port = " + MANAGEMENT_PORT + " }")
                .collect(Collectors.joining(", "));
        return """
                include file("%s")
                pekko.loglevel = INFO
                pekko.cluster.seed-nodes = []
                baton.cluster.formation = bootstrap
                baton.management.port = %d
                pekko.discovery.config.services.baton.endpoints = [ %s ]
                pekko.management.cluster.bootstrap.contact-point-discovery {
                  discovery-method = config
                  service-name = baton
                  required-contact-point-nr = %d
                }
                """.formatted(NodeProcess.root().resolve("cluster.conf"), MANAGEMENT_PORT, endpoints, hosts.size());
    }

    @Test
    void shouldFormTheClusterThroughBootstrapAndServe(@TempDir Path dir) throws Exception {
        try (TestHosts hosts = TestHosts.create(3)) {
            Path conf = dir.resolve("cluster.conf");
            Files.writeString(conf, clusterConf(hosts.hosts()));
            TestHosts.Host routerHost = hosts.host(0);
            List<NodeProcess> nodes = new ArrayList<>();
            try {
                nodes.add(NodeProcess.startIn(hosts, routerHost, dir, "router", List.of(), "router", "--model", MODEL.toString(),
                        "--config", conf.toString(), "--host", routerHost.address(), "--cluster-port",
                        Integer.toString(CLUSTER_PORT), "--http-host", routerHost.address(), "--port",
                        Integer.toString(HTTP_PORT)));
                String[] roles = {"prefill", "decode"};
                for (int i = 1; i <= 2; i++) {
                    TestHosts.Host h = hosts.host(i);
                    nodes.add(NodeProcess.startIn(hosts, h, dir, roles[i - 1], List.of(), roles[i - 1], "--model", MODEL.toString(),
                            "--threads", "1", "--config", conf.toString(), "--host", h.address(), "--cluster-port",
                            Integer.toString(CLUSTER_PORT), "--node-id", roles[i - 1] + "-" + i));
                }
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                java.util.function.Supplier<String> logs = () -> nodes.stream()
                        .map(n -> "--- " + n.log.getFileName() + ":\n" + n.log()).collect(Collectors.joining("\n"));

                // every management endpoint: alive, then ready (an Up member that serves)
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                for (TestHosts.Host h : hosts.hosts()) {
                    String base = "http://" + h.address() + ":" + MANAGEMENT_PORT;
                    while (status(http, base + "/ready") != 200) {
                        assertTrue(System.nanoTime() < deadline, () -> base + "/ready never answered 200:\n" + logs.get());
                        assertTrue(nodes.stream().allMatch(n -> n.process.isAlive()), () -> "a node exited:\n" + logs.get());
                        Thread.sleep(500);
                    }
                    assertEquals(200, status(http, base + "/alive"), base + "/alive");
                }

                // one cluster of three Up members, as every node sees it
                for (TestHosts.Host h : hosts.hosts()) {
                    JsonNode members = JSON.readTree(get(http, "http://" + h.address() + ":" + MANAGEMENT_PORT
                            + "/cluster/members").body()).get("members");
                    assertEquals(3, members.size(), members.toString());
                    for (JsonNode m : members) {
                        assertEquals("Up", m.get("status").asText(), members.toString());
                    }
                }
                // formed by bootstrap: exactly one node formed it, the others joined it
                long formed = nodes.stream().filter(n -> n.log().contains("is JOINING itself")).count();
                assertEquals(1, formed, logs.get());

                // the router serves a completion computed across the prefill and the decode host
                String base = "http://" + routerHost.address() + ":" + HTTP_PORT;
                while (status(http, base + "/ready") != 200) {
                    assertTrue(System.nanoTime() < deadline, () -> "router not ready:\n" + logs.get());
                    Thread.sleep(300);
                }
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                        .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body() + "\n" + logs.get());
                JsonNode body = JSON.readTree(r.body());
                assertEquals(12, body.at("/usage/completion_tokens").asInt(), r.body());
                assertTrue(!body.at("/choices/0/text").asText().isEmpty(), r.body());
            } finally {
                for (NodeProcess n : nodes) {
                    n.close();
                }
            }
        }
    }

    static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static int status(HttpClient http, String url) throws InterruptedException {
        try {
            return get(http, url).statusCode();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return -1; // not listening yet
        }
    }
}
