package dev.baton.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** A real {@link HttpClient} against one bound router, plus what the tests share (actor system, SSE parsing). */
final class ApiClient {

    static final ObjectMapper JSON = new ObjectMapper();

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    final URI base;
    private final String apiKey;

    ApiClient(int port, String apiKey) {
        this.base = URI.create("http://127.0.0.1:" + port);
        this.apiKey = apiKey;
    }

    ApiClient(int port) {
        this(port, null);
    }

    static Path model(String name) {
        return Path.of(System.getProperty("baton.oracle.dir", "../../shared/oracle"), "models", name + ".gguf");
    }

    /** A quiet actor system for one test class; Pekko logs through SLF4J. */
    static ActorSystem<Void> actorSystem(String name) {
        Config config = ConfigFactory.parseString("""
                pekko.loglevel = WARNING
                pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
                pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
                pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
                """).withFallback(ConfigFactory.load());
        return ActorSystem.create(Behaviors.empty(), name, config);
    }

    /** Router settings of reference.conf on a free port. */
    static RouterSettings settings() {
        return RouterSettings.from(ConfigFactory.defaultReference()).withPort(0);
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        return b;
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return post(path, body, "application/json");
    }

    /** POSTs a JSON {@code body} with one more header. */
    HttpResponse<String> post(String path, String body, String header, String value) throws IOException, InterruptedException {
        return HTTP.send(request(path).header("Content-Type", "application/json").header(header, value)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** POSTs {@code body} as UTF-8 whatever {@code contentType} says. */
    HttpResponse<String> post(String path, String body, String contentType) throws IOException, InterruptedException {
        return HTTP.send(request(path).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * POSTs {@code body} with {@code Expect: 100-continue}, as curl does for large bodies: the body goes only after the
     * server's 100, so a server that refuses from the headers (413) is heard, not raced by the upload (without it, the
     * server may answer and close while the client still writes, and the client sees a broken pipe).
     */
    HttpResponse<String> postExpectingContinue(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(request(path).header("Content-Type", "application/json").expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpClient http() {
        return HTTP;
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    static String body(Object... keyValues) {
        var node = JSON.createObjectNode();
        for (int i = 0; i < keyValues.length; i += 2) {
            node.set((String) keyValues[i], JSON.valueToTree(keyValues[i + 1]));
        }
        return node.toString();
    }

    /**
     * The data of every Server-Sent Event of a whole stream, checking the framing: only
     * {@code data: ...} events separated by blank lines, the last one {@code [DONE]}.
     */
    static List<String> events(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"),
                r.headers().toString());
        String body = r.body();
        assertTrue(body.endsWith("data: [DONE]\n\n"), "stream must end with [DONE]: " + body);
        List<String> data = new ArrayList<>();
        for (String frame : body.substring(0, body.length() - 2).split("\n\n", -1)) {
            assertTrue(frame.startsWith("data: ") && !frame.contains("\n"), "malformed SSE frame: '" + frame + "'");
            data.add(frame.substring(6));
        }
        assertEquals(1, data.stream().filter("[DONE]"::equals).count(), "exactly one [DONE]");
        return data;
    }

    /** The JSON events of a stream (without the final [DONE]). */
    static List<JsonNode> chunks(HttpResponse<String> r) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String d : events(r)) {
            if (!d.equals("[DONE]")) {
                out.add(JSON.readTree(d));
            }
        }
        return out;
    }

    /** Checks an OpenAI error answer; returns its {@code error} object. */
    static JsonNode error(HttpResponse<String> r, int status) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode e = json(r).get("error");
        assertTrue(e != null && e.get("message").isTextual() && e.get("type").isTextual() && e.has("param")
                && e.has("code"), r.body());
        assertTrue(!r.body().contains("\tat ") && !r.body().contains("Exception"), "no stack trace: " + r.body());
        return e;
    }
}
