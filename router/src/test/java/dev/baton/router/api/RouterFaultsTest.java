package dev.baton.router.api;

import static dev.baton.router.api.ApiClient.body;
import static dev.baton.router.api.ApiClient.error;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.LoopSettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What happens when things go wrong: a backend that is not ready, full or failing (injected in
 * front of a real engine loop on tiny-f32), and clients that disconnect or requests that run past
 * the timeout (on a real engine loop on small-q8_0, slow enough to be caught mid-generation).
 */
@Timeout(30)
class RouterFaultsTest {

    static Engine tinyEngine;
    static EngineLoop tinyLoop;
    static FaultyBackend faulty;
    static Engine smallEngine;
    static EngineLoop smallLoop;
    static EngineBackend slow;
    static ActorSystem<Void> system;
    static PrometheusMeterRegistry slowRegistry;
    static RouterHttpServer.Binding faultyServer;
    static RouterHttpServer.Binding slowServer;
    static RouterHttpServer.Binding impatientServer;
    static RouterHttpServer.Binding smallBufferServer;

    @BeforeAll
    static void start() throws Exception {
        tinyEngine = Engine.open(EngineSettings.defaults(ApiClient.model("tiny-f32")).withThreads(1)
                .withKvCacheBytes(4L << 20));
        tinyLoop = new EngineLoop(tinyEngine, LoopSettings.defaults(), "faults-tiny-loop");
        faulty = new FaultyBackend(new EngineBackend(tinyEngine, tinyLoop, "tiny-f32"));
        smallEngine = Engine.open(EngineSettings.defaults(ApiClient.model("small-q8_0")).withThreads(1)
                .withKvCacheBytes(32L << 20));
        smallLoop = new EngineLoop(smallEngine, LoopSettings.defaults(), "faults-small-loop");
        slow = new EngineBackend(smallEngine, smallLoop, "small-q8_0");
        system = ApiClient.actorSystem("router-faults-test");
        slowRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        faultyServer = RouterHttpServer.start(system, ApiClient.settings(), faulty,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        slowServer = RouterHttpServer.start(system, ApiClient.settings(), slow, slowRegistry)
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        impatientServer = RouterHttpServer.start(system, ApiClient.settings().withRequestTimeout(Duration.ofMillis(800)),
                slow, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        smallBufferServer = RouterHttpServer.start(system, ApiClient.settings().withMaxStreamBuffer(4), faulty,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (system != null) {
            system.terminate(); // coordinated shutdown unbinds every server
            system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
        }
        for (AutoCloseable c : new AutoCloseable[] {tinyLoop, tinyEngine, smallLoop, smallEngine}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @AfterEach
    void noFault() {
        faulty.fault = FaultyBackend.Fault.NONE;
    }

    @Test
    void shouldAnswer503WithRetryAfterWhileTheBackendIsNotReady() throws Exception {
        faulty.fault = FaultyBackend.Fault.NOT_READY;
        ApiClient api = new ApiClient(faultyServer.port());
        HttpResponse<String> ready = api.get("/ready");
        assertEquals(503, ready.statusCode());
        assertEquals("no decode node has joined", ApiClient.json(ready).get("reason").asText());
        assertEquals("1", ready.headers().firstValue("Retry-After").orElse(""));
        HttpResponse<String> r = api.post("/v1/completions", body("prompt", "x"));
        assertEquals("not_ready", error(r, 503).get("code").asText());
        assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
        assertEquals(200, api.get("/health").statusCode(), "alive while not ready");
    }

    @Test
    void shouldAnswer503WithRetryAfterWhenAnAcceptedRequestFindsNoRoomBeforeItStarts() throws Exception {
        faulty.fault = FaultyBackend.Fault.NO_ROOM_AFTER_ACCEPT;
        HttpResponse<String> r = new ApiClient(faultyServer.port()).post("/v1/completions", body("prompt", "x"));
        JsonNode e = error(r, 503);
        assertEquals("not_ready", e.get("code").asText());
        assertTrue(e.get("message").asText().contains("KV room"), e.toString());
        assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
    }

    @Test
    void shouldAnswer503WithRetryAfterWhenTheBackendQueueIsFull() throws Exception {
        faulty.fault = FaultyBackend.Fault.QUEUE_FULL;
        HttpResponse<String> r = new ApiClient(faultyServer.port()).post("/v1/chat/completions",
                body("messages", List.of(Map.of("role", "user", "content", "hi")), "stream", true));
        assertEquals("queue_full", error(r, 503).get("code").asText()); // capacity: 503; 429 is for a key's own limits
        assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
    }

    @Test
    void shouldAnswer400WhenTheBackendCanNeverServeTheRequest() throws Exception {
        faulty.fault = FaultyBackend.Fault.REJECT;
        JsonNode e = error(new ApiClient(faultyServer.port()).post("/v1/completions", body("prompt", "x")), 400);
        assertTrue(e.get("message").asText().contains("KV blocks"), e.toString());
    }

    @Test
    void shouldEndAStreamWithAnErrorEventWhenTheBackendFailsMidRequest() throws Exception {
        faulty.fault = FaultyBackend.Fault.FAIL_AFTER_TWO_TOKENS;
        HttpResponse<String> r = new ApiClient(faultyServer.port()).post("/v1/completions", body("prompt",
                "Once upon a time", "max_tokens", 20, "temperature", 0, "ignore_eos", true, "stream", true));
        List<String> events = ApiClient.events(r);
        assertEquals("[DONE]", events.getLast());
        JsonNode error = ApiClient.JSON.readTree(events.get(events.size() - 2)).get("error");
        assertEquals("server_error", error.get("type").asText());
        assertFalse(error.get("message").asText().contains("d1"), "the node's reason stays in the logs");
        for (String chunk : events.subList(0, events.size() - 2)) {
            assertEquals("text_completion", ApiClient.JSON.readTree(chunk).get("object").asText());
        }
    }

    @Test
    void shouldAnswer500WithAGenericMessageWhenTheBackendFailsMidRequest() throws Exception {
        faulty.fault = FaultyBackend.Fault.FAIL_AFTER_TWO_TOKENS;
        JsonNode e = error(new ApiClient(faultyServer.port()).post("/v1/completions", body("prompt", "x",
                "max_tokens", 20, "ignore_eos", true)), 500);
        assertEquals("server_error", e.get("type").asText());
        assertFalse(e.get("message").asText().contains("d1"));
        faulty.fault = FaultyBackend.Fault.NONE;
        assertEquals(200, new ApiClient(faultyServer.port()).post("/v1/completions", body("prompt", "x")).statusCode());
    }

    @Test
    void shouldCancelTheRequestAndFreeItsBlocksWhenTheClientDisconnectsMidStream() throws Exception {
        ApiClient api = new ApiClient(slowServer.port());
        HttpRequest request = api.request("/v1/completions").POST(HttpRequest.BodyPublishers.ofString(body(
                "prompt", "Once upon a time", "max_tokens", 1500, "ignore_eos", true, "stream", true))).build();
        HttpResponse<InputStream> r = ApiClient.http().send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            do {
                line = reader.readLine();
            } while (line != null && !line.startsWith("data: {"));
            assertTrue(line != null, "a first chunk arrives while the request runs");
            assertTrue(smallEngine.pool().freeBlockCount() < smallEngine.pool().blockCount(), "the request holds blocks");
        } // closing the body closes the connection

        await(() -> slow.cancels.stream().anyMatch(c -> c.reason().equals("client disconnected")), "cancelled");
        await(() -> smallLoop.runningCount() == 0 && slow.freeBlocks() == slow.totalBlocks(), "blocks returned");
        assertEquals(1.0, slowRegistry.get("baton.router.requests.disconnected").counter().count());
        assertEquals(0.0, slowRegistry.get("baton.router.requests.in.flight").gauge().value());
    }

    @Test
    void shouldCancelARequestThatRunsPastTheTimeout() throws Exception {
        slow.cancels.clear();
        HttpResponse<String> r = new ApiClient(impatientServer.port()).post("/v1/completions", body(
                "prompt", "Once upon a time", "max_tokens", 1500, "ignore_eos", true));
        assertEquals("timeout", error(r, 504).get("code").asText());
        await(() -> slow.cancels.stream().anyMatch(c -> c.reason().startsWith("request timed out")), "cancelled");
        await(() -> smallLoop.runningCount() == 0 && slow.freeBlocks() == slow.totalBlocks(), "blocks returned");
    }

    @Test
    void shouldSendATimeoutAsAnSseErrorEventOnceStreaming() throws Exception {
        HttpResponse<String> r = new ApiClient(impatientServer.port()).post("/v1/chat/completions", body(
                "messages", List.of(Map.of("role", "user", "content", "Tell me everything")), "max_tokens", 1500,
                "ignore_eos", true, "stream", true));
        List<String> events = ApiClient.events(r);
        JsonNode error = ApiClient.JSON.readTree(events.get(events.size() - 2)).get("error");
        assertEquals("timeout", error.get("code").asText());
        await(() -> smallLoop.runningCount() == 0 && slow.freeBlocks() == slow.totalBlocks(), "blocks returned");
    }

    @Test
    void shouldCancelTheRequestOfAClientThatStopsReading() throws Exception {
        faulty.fault = FaultyBackend.Fault.FLOOD;
        String request = body("prompt", "Once upon a time", "max_tokens", 100, "stream", true);
        byte[] bytes = request.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(1024); // a small window, so the server's socket buffers fill early
            socket.connect(new InetSocketAddress("127.0.0.1", smallBufferServer.port()), 5000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            // never read: the router must give up on this client instead of buffering without bound
            await(() -> faulty.floodCancels.contains("client stopped reading the stream"), "cancelled");
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(5);
        }
    }
}
