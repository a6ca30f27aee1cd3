package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The main command as a user runs it: bin/baton up, one request, bin/baton down. */
@Timeout(240)
class UpDownIT {

    static int run(Path dir, String name, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                NodeProcess.root().resolve("bin/baton").toString()));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name).toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        // bin/baton up hands the -D options on to its nodes: a host tier of this test's own
        pb.environment().put("BATON_JVM_OPTS", "-Xmx256m -Dbaton.kv-transfer.host-tier.directory=" + dir.resolve("host-tier")
                + " -Dbaton.kv-transfer.host-tier.capacity=64MiB");
        Process p = pb.start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), name + " timed out");
        return p.exitValue();
    }

    @Test
    void shouldStartServeAndStopALocalCluster(@TempDir Path dir) throws Exception {
        int port = NodeProcess.freePort();
        Path model = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
        int up = run(dir, "up.log", "up", "--model", model.toString(), "--port", Integer.toString(port),
                "--cluster-port", Integer.toString(NodeProcess.freePort()), "--threads", "1", "--node-heap", "384m");
        String upLog = Files.readString(dir.resolve("up.log"));
        try {
            assertEquals(0, up, upLog);
            assertTrue(upLog.contains("http://127.0.0.1:" + port + "/v1"), upLog);
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/v1/completions")).header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Hi\",\"max_tokens\":6,\"ignore_eos\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"completion_tokens\":6"), r.body());
            assertTrue(Files.exists(dir.resolve("host-tier/default.slab")), "the nodes opened this test's host tier");
        } finally {
            assertEquals(0, run(dir, "down.log", "down"), Files.readString(dir.resolve("down.log")));
        }
        String down = Files.readString(dir.resolve("down.log"));
        assertTrue(down.contains("stopped 3 process(es)"), down);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        boolean refused;
        try {
            http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                    HttpResponse.BodyHandlers.discarding());
            refused = false;
        } catch (java.io.IOException e) {
            refused = true;
        }
        assertTrue(refused, "the router still answers after bin/baton down");
    }

    /**
     * With the API over HTTPS ({@code baton.router.tls} in {@code --config}), {@code bin/baton up} still sees the
     * cluster ready (through the router's management endpoint), prints the https URL, and the API answers over TLS.
     */
    @Test
    void shouldStartAClusterWhoseApiIsServedOverTls(@TempDir Path dir) throws Exception {
        dev.baton.router.tls.SelfSignedCertificate.writePem(dev.baton.router.tls.SelfSignedCertificate.create("api",
                java.util.List.of("127.0.0.1", "localhost"), Duration.ofDays(1)), dir.resolve("api.pem"),
                dir.resolve("api.key"));
        Path conf = dir.resolve("tls.conf");
        Files.writeString(conf, "include file(\"" + NodeProcess.root().resolve("cluster.conf") + "\")\n"
                + "baton.router.tls { enabled = on, certificate = \"" + dir.resolve("api.pem") + "\", private-key = \""
                + dir.resolve("api.key") + "\" }\n");
        int port = NodeProcess.freePort();
        Path model = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
        int up = run(dir, "up.log", "up", "--model", model.toString(), "--colocated", "--port", Integer.toString(port),
                "--cluster-port", Integer.toString(NodeProcess.freePort()), "--threads", "1", "--node-heap", "384m",
                "--config", conf.toString(), "--ready-timeout", "90");
        String upLog = Files.readString(dir.resolve("up.log"));
        try {
            assertEquals(0, up, upLog);
            assertTrue(upLog.contains("https://127.0.0.1:" + port + "/v1") && upLog.contains("--cacert"), upLog);
            javax.net.ssl.SSLContext trust = javax.net.ssl.SSLContext.getInstance("TLS");
            trust.init(null, dev.baton.router.tls.KeyMaterial.trustManagers(
                    dev.baton.router.tls.KeyMaterial.readCertificates(dir.resolve("api.pem"), "api")), null);
            HttpClient https = HttpClient.newBuilder().sslContext(trust).build();
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port
                    + "/v1/completions")).header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Hi\",\"max_tokens\":4,\"ignore_eos\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"completion_tokens\":4"), r.body());
        } finally {
            assertEquals(0, run(dir, "down.log", "down"), Files.readString(dir.resolve("down.log")));
        }
    }
}
