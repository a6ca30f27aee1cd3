package dev.baton.bench.serve.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.bench.serve.metrics.ErrorKind;
import dev.baton.bench.serve.metrics.RequestResult;
import dev.baton.bench.serve.metrics.Usage;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.Message;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Streams completions from one OpenAI-compatible target and time-stamps every content chunk as it is read.
 *
 * <p>Every request is {@code stream: true} with {@code stream_options.include_usage}, so the server's token
 * counts (and {@code prompt_tokens_details.cached_tokens}) arrive in the last chunk. The body is read line
 * by line from the HTTP client's stream on the calling thread, and {@link System#nanoTime()} is read right
 * after each line, so a time stamp is when the chunk reached this process. Failures never throw: they come
 * back as a {@link RequestResult} with an {@link ErrorKind}.
 *
 * <p>Thread-safe: call {@link #send} from many (virtual) threads at once. Owns an {@link HttpClient}
 * (HTTP/1.1, one connection per request in flight) and a timer thread; {@link #close} releases both.
 */
public final class OpenAiClient implements AutoCloseable {

    private static final int MAX_ERROR_BODY_CHARS = 300;

    private final Target target;
    private final Api api;
    private final ClientOptions options;
    /** Makes this client's session ids unique across runs against one server (no stale stickiness). */
    private final String sessionPrefix = "bench-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()) + "-";
    private final HttpClient http;
    private final ScheduledExecutorService timer;
    private final ObjectMapper json = new ObjectMapper();
    private final URI endpoint;

    public OpenAiClient(Target target, Api api, ClientOptions options) {
        this.target = target;
        this.api = api;
        this.options = options;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(options.connectTimeout())
                .build();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-request-timer");
            t.setDaemon(true);
            return t;
        });
        this.endpoint = target.baseUrl().resolve(api.path());
    }

    public Target target() {
        return target;
    }

    /**
     * The model to name in requests: the target's, else the first id {@code GET /models} lists.
     *
     * @throws IOException when the target gives no model and the list cannot be read
     */
    public String resolveModel() throws IOException {
        if (target.model() != null) {
            return target.model();
        }
        URI uri = target.baseUrl().resolve("models");
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(options.requestTimeout()).GET();
            authorize(b);
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("GET " + uri + " answered HTTP " + r.statusCode());
            }
            JsonNode data = json.readTree(r.body()).path("data");
            if (!data.isArray() || data.isEmpty() || !data.get(0).hasNonNull("id")) {
                throw new IOException("GET " + uri + " listed no model");
            }
            return data.get(0).get("id").asText();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while listing models at " + uri, e);
        } catch (IOException e) {
            throw new IOException("no model given for target " + target.name() + " and " + e.getMessage()
                    + " (give one with --model or ,model=NAME in --target)", e);
        }
    }

    /** The session id this client sends for session number {@code session}, or null when session ids are off. */
    public String sessionId(int session) {
        return options.sessionIds() ? sessionPrefix + session : null;
    }

    /** The JSON body of one streamed request: the conversation so far and the output length. */
    public ObjectNode body(String model, List<Message> history, int maxTokens) {
        return body(model, history, maxTokens, null);
    }

    /**
     * The JSON body of one streamed request of the session {@code session}, sent as {@code user} (the session id
     * of servers with sticky sessions; null for none).
     */
    public ObjectNode body(String model, List<Message> history, int maxTokens, String session) {
        ObjectNode body = json.createObjectNode();
        body.put("model", model);
        if (session != null) {
            body.put("user", session);
        }
        if (api == Api.CHAT) {
            ArrayNode messages = body.putArray("messages");
            for (Message m : history) {
                messages.addObject().put("role", m.role()).put("content", m.content());
            }
        } else {
            StringBuilder prompt = new StringBuilder();
            for (Message m : history) {
                prompt.append(m.content());
            }
            body.put("prompt", prompt.toString());
        }
        body.put("max_tokens", maxTokens);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        if (options.ignoreEos()) {
            body.put("ignore_eos", true);
        }
        if (options.extraBody() != null) {
            body.setAll(options.extraBody());
        }
        return body;
    }

    /**
     * Sends one streamed request and reads it to the end.
     *
     * @return the time stamps and outcome; never null, never throws for a failed request
     */
    public RequestResult send(String model, List<Message> history, int maxTokens) {
        return send(model, history, maxTokens, null);
    }

    /** As {@link #send(String, List, int)}, for the session {@code session} (its id sent as {@code user}; null for none). */
    public RequestResult send(String model, List<Message> history, int maxTokens, String session) {
        byte[] payload;
        try {
            payload = json.writeValueAsBytes(body(model, history, maxTokens, session));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a request body", e);
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint).timeout(options.requestTimeout())
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(payload));
        authorize(b);
        HttpRequest request = b.build();
        Reading s = new Reading();
        s.sendNs = System.nanoTime();
        long deadlineNs = s.sendNs + options.requestTimeout().toNanos();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpConnectTimeoutException e) {
            return s.fail(ErrorKind.CONNECT, 0, "connect timed out");
        } catch (HttpTimeoutException e) {
            return s.fail(ErrorKind.TIMEOUT, 0, "no response within " + options.requestTimeout());
        } catch (ConnectException e) {
            return s.fail(ErrorKind.CONNECT, 0, describe(e));
        } catch (IOException e) {
            return s.fail(ErrorKind.IO, 0, describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return s.fail(ErrorKind.IO, 0, "interrupted");
        }
        int status = response.statusCode();
        InputStream in = response.body();
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> watchdog = timer.schedule(() -> {
            timedOut.set(true);
            closeQuietly(in);
        }, Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS);
        try (in) {
            if (status != 200) {
                s.retryAfter = response.headers().firstValue("Retry-After").orElse(null);
                return s.fail(ErrorKind.HTTP, status, errorMessage(in));
            }
            String type = response.headers().firstValue("Content-Type").orElse("");
            if (type.startsWith("application/json")) {
                return s.fail(ErrorKind.BAD_RESPONSE, status, "the server answered with JSON, not a stream");
            }
            return read(s, status, new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
        } catch (IOException e) {
            return timedOut.get() ? s.fail(ErrorKind.TIMEOUT, status, "stream not finished within " + options.requestTimeout())
                    : s.fail(ErrorKind.IO, status, describe(e));
        } finally {
            watchdog.cancel(false);
        }
    }

    private RequestResult read(Reading s, int status, BufferedReader reader) throws IOException {
        String line;
        while ((line = reader.readLine()) != null) {
            long now = System.nanoTime();
            if (!line.startsWith("data:")) {
                continue; // blank separators, comments (":"), event: and id: lines
            }
            String data = line.substring(5).trim();
            if (data.equals("[DONE]")) {
                s.endNs = now;
                if (s.count == 0) {
                    return s.result(ErrorKind.NO_OUTPUT, status, "the stream ended without content");
                }
                return s.result(null, status, null);
            }
            StreamChunk chunk;
            try {
                chunk = StreamChunk.of(json.readTree(data));
            } catch (IOException e) {
                s.endNs = now;
                return s.result(ErrorKind.BAD_RESPONSE, status, "unparseable chunk: " + abbreviate(data));
            }
            if (chunk.error() != null) {
                s.endNs = now;
                return s.result(ErrorKind.STREAM_ERROR, status, abbreviate(chunk.error()));
            }
            if (chunk.content() != null) {
                s.add(now, chunk.content());
            }
            if (chunk.usage() != null) {
                s.usage = chunk.usage();
            }
        }
        return s.fail(ErrorKind.TRUNCATED, status, "the stream ended before [DONE] after " + s.count + " chunks");
    }

    private String errorMessage(InputStream in) {
        try {
            byte[] bytes = in.readNBytes(8192);
            String body = new String(bytes, StandardCharsets.UTF_8);
            try {
                JsonNode e = json.readTree(body).path("error");
                if (e.hasNonNull("message")) {
                    return abbreviate(e.get("message").asText());
                }
            } catch (IOException notJson) {
                // fall through: the raw body is the message
            }
            return abbreviate(body.strip());
        } catch (IOException e) {
            return describe(e);
        }
    }

    private void authorize(HttpRequest.Builder b) {
        if (target.apiKey() != null) {
            b.header("Authorization", "Bearer " + target.apiKey());
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= MAX_ERROR_BODY_CHARS ? s : s.substring(0, MAX_ERROR_BODY_CHARS) + "...";
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + abbreviate(m));
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // closing is how the watchdog ends a stalled read; a failure to close changes nothing
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        http.close();
    }

    /** The state of one request being read: its time stamps and text so far. */
    private static final class Reading {
        long sendNs;
        long endNs;
        long[] contentNs = new long[64];
        int count;
        final StringBuilder text = new StringBuilder();
        Usage usage;
        String retryAfter;

        void add(long now, String content) {
            if (count == contentNs.length) {
                contentNs = Arrays.copyOf(contentNs, count * 2);
            }
            contentNs[count++] = now;
            text.append(content);
        }

        RequestResult fail(ErrorKind kind, int status, String message) {
            endNs = System.nanoTime();
            return result(kind, status, message);
        }

        RequestResult result(ErrorKind kind, int status, String message) {
            return new RequestResult(sendNs, endNs, Arrays.copyOf(contentNs, count), text.toString(), usage, kind, status,
                    message, retryAfter);
        }
    }
}
