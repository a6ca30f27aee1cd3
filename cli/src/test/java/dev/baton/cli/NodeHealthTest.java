package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A serving node whose engine loop is stuck is not ready, on its metrics port's {@code /ready} too, until it moves. */
@Timeout(30)
class NodeHealthTest {

    @Test
    void shouldNotBeReadyWhileTheEngineLoopIsStuck() {
        AtomicLong stuck = new AtomicLong();
        NodeHealth health = new NodeHealth();
        health.watch(stuck::get);
        health.serving();
        assertTrue(health.ready());
        stuck.set(31_000);
        assertFalse(health.ready());
        NodeHealth.Verdict v = health.verdict();
        assertEquals("stuck", v.status());
        assertTrue(v.reason().contains("31000 ms"), v.reason());
        stuck.set(0);
        assertTrue(health.ready());
        assertEquals("serving", health.verdict().status());
    }

    @Test
    void shouldReportDrainingRatherThanStuckOnceTheNodeDrains() {
        NodeHealth health = new NodeHealth();
        health.watch(() -> 5_000);
        health.serving();
        health.draining();
        assertFalse(health.ready());
        assertEquals("draining", health.verdict().status());
    }

    @Test
    void shouldAnswer503WithTheReasonOnReadyWhileStuck() throws Exception {
        AtomicLong stuck = new AtomicLong();
        NodeHealth health = new NodeHealth();
        health.watch(stuck::get);
        health.serving();
        try (NodeMetricsServer server = new NodeMetricsServer("127.0.0.1", 0, health)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/ready"))
                    .timeout(Duration.ofSeconds(5)).build();
            assertEquals(200, http.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode());
            stuck.set(45_000);
            HttpResponse<String> notReady = http.send(ready, HttpResponse.BodyHandlers.ofString());
            assertEquals(503, notReady.statusCode());
            assertTrue(notReady.body().contains("\"status\":\"stuck\"") && notReady.body().contains("45000 ms"),
                    notReady.body());
            stuck.set(0);
            assertEquals(200, http.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode());
        }
    }
}
