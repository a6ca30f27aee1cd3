package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.router.tls.KeyMaterial;
import dev.baton.router.tls.SelfSignedCertificate;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS end to end with separate node processes: a router (HTTPS API, Artery over tls-tcp) and a worker that share
 * the cluster's certificate serve a request that Java's HTTP client sends over HTTPS; a second worker with a
 * certificate of its own, started at the same time, fails the handshake and never becomes a member. The
 * certificates are made by the test in its temporary folder.
 */
@Timeout(120)
class TlsClusterIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldServeOverTlsAndKeepANodeWithAnotherCertificateOut(@TempDir Path dir) throws Exception {
        Duration day = Duration.ofDays(1);
        List<String> loopback = List.of("127.0.0.1", "localhost");
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("api", loopback, day), dir.resolve("api.pem"),
                dir.resolve("api.key"));
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("cluster", loopback, day), dir.resolve("cluster.pem"),
                dir.resolve("cluster.key"));
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("rogue", loopback, day), dir.resolve("rogue.pem"),
                dir.resolve("rogue.key"));
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", MODEL.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed,
                    "--tls-cert", dir.resolve("api.pem").toString(), "--tls-key", dir.resolve("api.key").toString(),
                    "--cluster-cert", dir.resolve("cluster.pem").toString(), "--cluster-key", dir.resolve("cluster.key").toString());
                NodeProcess member = NodeProcess.start(dir, "member", "worker", "--model", MODEL.toString(), "--threads", "1",
                    "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "member",
                    "--cluster-cert", dir.resolve("cluster.pem").toString(), "--cluster-key", dir.resolve("cluster.key").toString())) {
            SSLContext trust = SSLContext.getInstance("TLS");
            trust.init(null, KeyMaterial.trustManagers(KeyMaterial.readCertificates(dir.resolve("api.pem"), "api")), null);
            HttpClient https = HttpClient.newBuilder().sslContext(trust).connectTimeout(Duration.ofSeconds(5)).build();
            String base = "https://127.0.0.1:" + httpPort;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (status(https, base + "/ready") != 200) {
                assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + router.log() + "\n" + member.log());
                Thread.sleep(300);
            }

            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(8, JSON.readTree(r.body()).at("/usage/completion_tokens").asInt(), r.body());

            // A node with a certificate of its own: once its remoting runs it tries the seed over and over; for a
            // bounded while after that it must never be listed, and its attempts must fail at the TLS handshake.
            try (NodeProcess rogue = NodeProcess.start(dir, "rogue", "worker", "--model", MODEL.toString(), "--threads", "1",
                    "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "rogue",
                    "--cluster-cert", dir.resolve("rogue.pem").toString(), "--cluster-key", dir.resolve("rogue.key").toString())) {
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!rogue.log().contains("Starting up")) {
                    assertTrue(System.nanoTime() < deadline && rogue.process.isAlive(), () -> "the rogue node did not start:\n"
                            + rogue.log());
                    Thread.sleep(300);
                }
                long watch = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (System.nanoTime() < watch) {
                    JsonNode cluster = JSON.readTree(https.send(HttpRequest.newBuilder(URI.create(base + "/v1/cluster"))
                            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body());
                    assertTrue(listed(cluster, "member"), cluster.toString());
                    assertFalse(listed(cluster, "rogue"), () -> "the node with another certificate joined: " + cluster
                            + "\n" + rogue.log());
                    Thread.sleep(500);
                }
                String logs = rogue.log() + router.log();
                assertTrue(logs.toLowerCase(java.util.Locale.ROOT).contains("handshake"),
                        "a failed TLS handshake is logged:\n--- rogue:\n" + rogue.log() + "\n--- router:\n" + router.log());
            }
        }
    }

    static boolean listed(JsonNode cluster, String nodeId) {
        for (JsonNode n : cluster.path("nodes")) {
            if (nodeId.equals(n.path("node").asText())) {
                return true;
            }
        }
        return false;
    }

    static int status(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }
}
