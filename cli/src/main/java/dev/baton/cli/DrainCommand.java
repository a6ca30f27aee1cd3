package dev.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/baton drain NODE}: asks the router to drain a serving node, as SIGTERM would: the node gets no
 * new requests from then on, finishes the ones it has (a prefill node until its decode nodes hold their
 * blocks), leaves the cluster and exits. With {@code --wait}, returns once the node has left.
 */
@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Drain a serving node (finish its requests, leave the cluster, exit) through the router.")
final class DrainCommand implements Callable<Integer> {

    @Parameters(paramLabel = "NODE", description = "the node id, as GET /v1/cluster lists it (e.g. decode-1)")
    String node;

    @Option(names = "--router", paramLabel = "URL", defaultValue = "http://127.0.0.1:8000",
            description = "the router's base URL (default: ${DEFAULT-VALUE})")
    String router;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "bearer key, when the router needs one and has no admin keys (else use --admin-key)")
    String apiKey;

    @Option(names = "--admin-key", paramLabel = "KEY", defaultValue = "${env:BATON_ADMIN_KEY}",
            description = "admin key of the router (baton.router.admin-keys; default: $BATON_ADMIN_KEY, else the "
                    + "first of baton.router.admin-keys in cluster.conf or --config)")
    String adminKey;

    @Option(names = "--cacert", paramLabel = "PEM",
            description = "certificates to trust in an https:// router's (e.g. its self-signed one); default: the JDK's")
    java.nio.file.Path caCert;

    @Option(names = "--config", paramLabel = "FILE", description = "configuration file (default: cluster.conf)")
    java.nio.file.Path config;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "0",
            description = "wait up to this long for the node to leave the cluster (default: ${DEFAULT-VALUE}: do not wait)")
    int waitSeconds;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        String base = router.replaceAll("/+$", "");
        if (adminKey == null || adminKey.isBlank()) {
            java.util.List<String> keys = BatonConfig.load(config).getStringList("baton.router.admin-keys");
            adminKey = keys.isEmpty() ? null : keys.getFirst();
        }
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (caCert != null) {
            javax.net.ssl.SSLContext trust = javax.net.ssl.SSLContext.getInstance("TLS");
            trust.init(null, dev.baton.router.tls.KeyMaterial.trustManagers(
                    dev.baton.router.tls.KeyMaterial.readCertificates(caCert, "--cacert")), null);
            builder.sslContext(trust);
        }
        HttpClient http = builder.build();
        HttpResponse<String> r;
        try {
            r = http.send(request(base + "/v1/cluster/nodes/" + URLEncoder.encode(node, StandardCharsets.UTF_8)
                    .replace("+", "%20") + "/drain").POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IOException("cannot reach the router at " + base + ": " + Baton.describe(e), e);
        }
        if (r.statusCode() != 202) {
            System.err.println("baton drain: the router answered " + r.statusCode() + ": " + r.body());
            return 1;
        }
        System.out.println("baton drain: " + node + " drains");
        if (waitSeconds <= 0) {
            return 0;
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(waitSeconds).toNanos();
        while (System.nanoTime() < deadline) {
            Thread.sleep(500);
            HttpResponse<String> c = http.send(request(base + "/v1/cluster").GET().build(), HttpResponse.BodyHandlers.ofString());
            if (c.statusCode() == 200 && !listed(JSON.readTree(c.body()), node)) {
                System.out.println("baton drain: " + node + " left the cluster");
                return 0;
            }
        }
        System.err.println("baton drain: " + node + " is still in the cluster after " + waitSeconds + " s");
        return 1;
    }

    static boolean listed(JsonNode cluster, String nodeId) {
        for (JsonNode n : cluster.path("nodes")) {
            if (nodeId.equals(n.path("node").asText())) {
                return true;
            }
        }
        return false;
    }

    private HttpRequest.Builder request(String url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        String key = adminKey != null ? adminKey : apiKey;
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }
}
