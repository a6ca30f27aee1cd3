package dev.baton.router.api;

import static dev.baton.router.api.ApiClient.body;
import static dev.baton.router.api.ApiClient.chunks;
import static dev.baton.router.api.ApiClient.error;
import static dev.baton.router.api.ApiClient.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.LoopSettings;
import dev.baton.router.tls.KeyMaterial;
import dev.baton.router.tls.SelfSignedCertificate;
import dev.baton.router.tls.TlsConfigException;
import dev.baton.router.tls.TlsSettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS and the admin key, end to end: Java's {@link HttpClient} against the real server on an ephemeral port,
 * with a certificate made for the test (an EC key, self-signed, in a temporary folder) and a real engine loop on
 * tiny-f32 behind it.
 */
@Timeout(60)
class RouterTlsTest {

    static final String API_KEY = "sk-user";
    static final String ADMIN_KEY = "sk-admin";

    @TempDir
    static Path dir;

    static Engine engine;
    static EngineLoop loop;
    static ActorSystem<Void> system;
    static RouterHttpServer.Binding https;
    static RouterHttpServer.Binding admin;
    static HttpClient trusting;

    @BeforeAll
    static void start() throws Exception {
        engine = Engine.open(EngineSettings.defaults(ApiClient.model("tiny-f32")).withThreads(1).withKvCacheBytes(16L << 20));
        loop = new EngineLoop(engine, LoopSettings.defaults(), "router-tls-test-loop");
        EngineBackend backend = new EngineBackend(engine, loop, "tiny-f32");
        system = ApiClient.actorSystem("router-tls-test");
        KeyMaterial cert = SelfSignedCertificate.create("router", List.of("127.0.0.1", "localhost"), Duration.ofDays(1));
        SelfSignedCertificate.writePem(cert, dir.resolve("router.pem"), dir.resolve("router.key"));
        https = RouterHttpServer.start(system, ApiClient.settings().withTls(TlsSettings.pem("baton.router.tls",
                        dir.resolve("router.pem"), dir.resolve("router.key"))), backend,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        admin = RouterHttpServer.start(system, ApiClient.settings().withApiKeys(List.of(API_KEY))
                        .withAdminKeys(List.of(ADMIN_KEY)), backend, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        SSLContext trust = SSLContext.getInstance("TLS");
        trust.init(null, KeyMaterial.trustManagers(KeyMaterial.readCertificates(dir.resolve("router.pem"), "certificate")),
                null);
        trusting = HttpClient.newBuilder().sslContext(trust).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        for (RouterHttpServer.Binding b : new RouterHttpServer.Binding[] {https, admin}) {
            if (b != null) {
                b.close();
            }
        }
        if (system != null) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
        }
        if (loop != null) {
            loop.close();
        }
        if (engine != null) {
            engine.close();
        }
    }

    private static HttpRequest.Builder request(String scheme, int port, String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    private static HttpResponse<String> post(HttpClient client, String path, String json) throws Exception {
        return client.send(request("https", https.port(), path, null).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> admin(String method, String path, String key) throws Exception {
        return ApiClient.http().send(request("http", admin.port(), path, key)
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeACompletionOverHttps() throws Exception {
        HttpResponse<String> r = post(trusting, "/v1/completions",
                body("prompt", "Hello over TLS", "max_tokens", 4, "temperature", 0, "ignore_eos", true));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(4, json(r).at("/usage/completion_tokens").asInt(), r.body());
    }

    @Test
    void shouldStreamAChatCompletionOverHttps() throws Exception {
        HttpResponse<String> r = post(trusting, "/v1/chat/completions", body("messages",
                List.of(java.util.Map.of("role", "user", "content", "Stream over TLS")), "max_tokens", 5,
                "temperature", 0, "ignore_eos", true, "stream", true));
        List<JsonNode> chunks = chunks(r); // checks the event-stream framing and the closing [DONE]
        long contentChunks = chunks.stream().filter(c -> c.at("/choices/0/delta/content").isTextual()).count();
        assertTrue(contentChunks >= 1, "tokens streamed: " + r.body());
        assertEquals("length", chunks.getLast().at("/choices/0/finish_reason").asText(), r.body());
    }

    @Test
    void shouldRefuseAClientThatDoesNotTrustTheCertificate() {
        HttpClient defaults = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        assertThrows(SSLHandshakeException.class, () -> defaults.send(request("https", https.port(), "/health", null)
                .GET().build(), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void shouldNotAnswerPlainHttpOnTheHttpsPort() {
        assertThrows(java.io.IOException.class, () -> ApiClient.http().send(request("http", https.port(), "/health", null)
                .GET().build(), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void shouldRefuseToStartWithAKeyThatDoesNotMatchItsCertificateNamingTheFiles() throws Exception {
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("other", List.of(), Duration.ofDays(1)),
                dir.resolve("other.pem"), dir.resolve("other.key"));
        RouterSettings wrong = ApiClient.settings().withTls(TlsSettings.pem("baton.router.tls", dir.resolve("router.pem"),
                dir.resolve("other.key")));
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> RouterHttpServer.start(system, wrong,
                new EngineBackend(engine, loop, "tiny-f32"), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
        assertTrue(e.getMessage().contains("other.key") && e.getMessage().contains("router.pem")
                && e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void shouldServeAdminEndpointsOnlyWithAnAdminKey() throws Exception {
        assertEquals("invalid_api_key", error(admin("GET", "/v1/cluster", null), 401).get("code").asText());
        assertEquals("invalid_api_key", error(admin("GET", "/v1/cluster", "sk-unknown"), 401).get("code").asText());
        JsonNode user = error(admin("GET", "/v1/cluster", API_KEY), 403);
        assertEquals("permission_error", user.get("type").asText());
        assertEquals("admin_key_required", user.get("code").asText());
        assertEquals(403, admin("POST", "/v1/cluster/nodes/decode-1/drain", API_KEY).statusCode());
        assertEquals(403, admin("GET", "/v1/planner", API_KEY).statusCode());

        assertEquals(200, admin("GET", "/v1/cluster", ADMIN_KEY).statusCode());
        assertEquals(404, admin("GET", "/v1/planner", ADMIN_KEY).statusCode(), "past the key: no planner runs here");
        assertEquals("unknown node", ApiClient.JSON.readTree(admin("POST", "/v1/cluster/nodes/decode-1/drain", ADMIN_KEY)
                .body()).get("status").asText(), "past the key: the engine backend has no such node");
    }

    @Test
    void shouldTakeBothKindsOfKeyOnTheRestOfTheApi() throws Exception {
        assertEquals(200, admin("GET", "/v1/models", API_KEY).statusCode());
        assertEquals(200, admin("GET", "/v1/models", ADMIN_KEY).statusCode());
        assertEquals(401, admin("GET", "/v1/models", null).statusCode());
        assertEquals(200, admin("GET", "/health", null).statusCode());
    }

    @Test
    void shouldRefuseAnAdminKeyThatIsAlsoAnApiKey() {
        RouterConfigException e = assertThrows(RouterConfigException.class,
                () -> ApiClient.settings().withApiKeys(List.of("k")).withAdminKeys(List.of("k")));
        assertTrue(e.getMessage().contains("admin-keys"), e.getMessage());
    }
}
