package dev.baton.bench.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * A real HTTP server on loopback that speaks OpenAI's streaming completions and chat completions with
 * exactly scripted timing: content chunk {@code k} is written at {@code received + ttft + k * itl}
 * (absolute times, so delays do not add up), then the usage chunk and {@code [DONE]}. A script can fail a
 * request with an HTTP status, an error event or a cut stream after some chunks.
 *
 * <p>Chat streams start with a role-only chunk at once (it must not count as the first token).
 */
public final class ScriptedOpenAiServer implements AutoCloseable {

    static {
        // The JDK server leaves Nagle's algorithm on by default; small SSE writes would wait for ACKs.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    public enum Failure { NONE, HTTP, STREAM_ERROR, TRUNCATE, STALL }

    /**
     * What the server does with one request.
     *
     * @param chunks content chunks to send (one token each unless {@code completionTokens} says otherwise)
     * @param failAfter chunks sent before a STREAM_ERROR, TRUNCATE or STALL failure
     * @param status the status of an HTTP failure
     * @param completionTokens {@code usage.completion_tokens}; -1 sends no usage
     * @param cachedTokens {@code prompt_tokens_details.cached_tokens}; -1 leaves it out
     */
    public record Script(long ttftMs, long itlMs, int chunks, Failure failure, int failAfter, int status, int promptTokens,
            int completionTokens, int cachedTokens) {

        public static Script ok(long ttftMs, long itlMs, int chunks) {
            return new Script(ttftMs, itlMs, chunks, Failure.NONE, 0, 200, 10, chunks, -1);
        }

        public Script withFailure(Failure f, int after) {
            return new Script(ttftMs, itlMs, chunks, f, after, f == Failure.HTTP ? 500 : 200, promptTokens, completionTokens,
                    cachedTokens);
        }

        public Script withStatus(int s) {
            return new Script(ttftMs, itlMs, chunks, Failure.HTTP, 0, s, promptTokens, completionTokens, cachedTokens);
        }

        public Script withUsage(int prompt, int completion, int cached) {
            return new Script(ttftMs, itlMs, chunks, failure, failAfter, status, prompt, completion, cached);
        }
    }

    /** One request as the server saw it. */
    public record Received(long atNs, String path, JsonNode body) {}

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Function<JsonNode, Script> script;
    private final ObjectMapper json = new ObjectMapper();
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();

    public ScriptedOpenAiServer(Function<JsonNode, Script> script) throws IOException {
        this.script = script;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(executor);
        server.createContext("/v1/completions", ex -> stream(ex, false));
        server.createContext("/v1/chat/completions", ex -> stream(ex, true));
        server.createContext("/v1/models", ex -> send(ex, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"scripted\",\"object\":\"model\"}]}"));
        server.start();
    }

    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1/");
    }

    /** The prompt (completions) or the last message (chat) of a request body. */
    public static String prompt(JsonNode body) {
        if (body.has("prompt")) {
            return body.get("prompt").asText();
        }
        JsonNode m = body.get("messages");
        return m.get(m.size() - 1).get("content").asText();
    }

    public List<Received> received() {
        return List.copyOf(received);
    }

    private void stream(HttpExchange ex, boolean chat) throws IOException {
        try (ex) {
            JsonNode body = json.readTree(ex.getRequestBody().readAllBytes());
            long t0 = System.nanoTime();
            received.add(new Received(t0, ex.getRequestURI().getPath(), body));
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            try {
                Script s = script.apply(body);
                if (s.failure() == Failure.HTTP) {
                    sleepUntil(t0 + s.ttftMs() * 1_000_000);
                    send(ex, s.status(), "{\"error\":{\"message\":\"scripted failure\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
                    return;
                }
                ex.getResponseHeaders().add("Content-Type", "text/event-stream");
                ex.sendResponseHeaders(200, 0);
                OutputStream out = ex.getResponseBody();
                if (chat) {
                    event(out, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}");
                }
                for (int k = 0; k < s.chunks(); k++) {
                    if (s.failure() != Failure.NONE && k == s.failAfter()) {
                        switch (s.failure()) {
                            case STREAM_ERROR -> event(out, "{\"error\":{\"message\":\"scripted stream error\"}}");
                            case STALL -> sleepUntil(System.nanoTime() + 60_000_000_000L);
                            default -> { }
                        }
                        return; // closing the exchange ends the chunked body cleanly, with no [DONE]
                    }
                    sleepUntil(t0 + (s.ttftMs() + k * s.itlMs()) * 1_000_000);
                    String text = " t" + k;
                    event(out, chat
                            ? "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"},\"finish_reason\":null}]}"
                            : "{\"choices\":[{\"index\":0,\"text\":\"" + text + "\",\"finish_reason\":null}]}");
                }
                if (s.completionTokens() >= 0) {
                    ObjectNode u = json.createObjectNode();
                    u.putArray("choices");
                    ObjectNode usage = u.putObject("usage").put("prompt_tokens", s.promptTokens())
                            .put("completion_tokens", s.completionTokens()).put("total_tokens", s.promptTokens() + s.completionTokens());
                    if (s.cachedTokens() >= 0) {
                        usage.putObject("prompt_tokens_details").put("cached_tokens", s.cachedTokens());
                    }
                    event(out, u.toString());
                }
                event(out, "[DONE]");
            } finally {
                inFlight.decrementAndGet();
            }
        } catch (IOException e) {
            // the client went away (a timeout test): nothing to do
        }
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        if (status == 503) {
            ex.getResponseHeaders().add("Retry-After", "1"); // as a router refusing for capacity does; 429s here carry none
        }
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    private static void sleepUntil(long atNs) {
        long left;
        while ((left = atNs - System.nanoTime()) > 0 && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(left);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
