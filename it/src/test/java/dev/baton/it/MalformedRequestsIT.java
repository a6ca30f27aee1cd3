package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.router.api.openai.ApiException;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.RequestParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 10,000 malformed requests against a router and a worker as separate processes: the request parser's
 * fuzz inputs and their mutations, then generated ones (wrong types, huge and negative numbers, invalid
 * UTF-8, deep nesting, truncated bodies, lone surrogates, over-limit fields) through Java's HTTP client,
 * and broken HTTP (lying Content-Length, garbage request lines, oversized and too many headers, bad
 * chunked bodies) over raw sockets. Every request gets an answer within its timeout, every answer is a
 * 4xx with an OpenAI error body, none is a 5xx, and a normal completion is served afterwards. The one
 * exception: a client that sends less body than its Content-Length says and closes its sending side may see
 * its connection closed instead of the 400 (see {@link #checkRaw}).
 */
@Timeout(240)
class MalformedRequestsIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final ObjectMapper JSON = new ObjectMapper();
    static final int TOTAL = 10_000;
    static final int RAW = 600;
    static final Duration PER_REQUEST = Duration.ofSeconds(15);

    /** One malformed request through the HTTP client. */
    record JsonCase(String label, String path, byte[] body) {}

    @Test
    void shouldAnswerEveryMalformedRequestWithA4xxAndKeepServing(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", MODEL.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed);
                NodeProcess worker = NodeProcess.start(dir, "worker", "worker", "--model", MODEL.toString(), "--threads",
                    "1", "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "w1")) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (HttpClusterIT.status(http, base + "/ready") != 200) {
                assertTrue(System.nanoTime() < deadline, () -> "not ready:\n" + router.log() + "\n" + worker.log());
                Thread.sleep(300);
            }

            SplittableRandom random = new SplittableRandom(15);
            List<JsonCase> cases = jsonCases(random, TOTAL - RAW);
            List<byte[]> raws = rawCases(random, RAW);
            Map<String, AtomicInteger> statuses = new ConcurrentHashMap<>();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            long start = System.nanoTime();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < 6; t++) {
                    int from = t;
                    done.add(pool.submit(() -> {
                        for (int i = from; i < cases.size(); i += 6) {
                            check(http, base, cases.get(i), statuses, failures);
                        }
                    }));
                }
                for (int t = 0; t < 2; t++) {
                    int from = t;
                    done.add(pool.submit(() -> {
                        for (int i = from; i < raws.size(); i += 2) {
                            checkRaw(httpPort, raws.get(i), statuses, failures);
                        }
                    }));
                }
                for (Future<?> f : done) {
                    f.get(200, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            int answered = statuses.values().stream().mapToInt(AtomicInteger::get).sum();
            System.out.printf("MalformedRequestsIT: %d requests in %.1f s, statuses %s%n", TOTAL, seconds, statuses);
            assertTrue(failures.isEmpty(), () -> failures.size() + " requests broke the contract, e.g.:\n"
                    + String.join("\n", failures.subList(0, Math.min(20, failures.size()))) + "\n--- router:\n"
                    + router.log());
            assertEquals(TOTAL, answered, statuses.toString());

            // still serving
            JsonNode ok = HttpClusterIT.post(http, base + "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"ignore_eos\":true}");
            assertEquals(8, ok.at("/usage/completion_tokens").asInt(), ok.toString());
        }
    }

    private static void check(HttpClient http, String base, JsonCase c, Map<String, AtomicInteger> statuses,
            List<String> failures) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + c.path()))
                    .timeout(PER_REQUEST).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(c.body())).build(), HttpResponse.BodyHandlers.ofString());
            statuses.computeIfAbsent(Integer.toString(r.statusCode()), k -> new AtomicInteger()).incrementAndGet();
            String why = contract(r.statusCode(), r.body());
            if (why != null) {
                failures.add(c.label() + ": " + why + ": " + abbreviate(new String(c.body(), StandardCharsets.UTF_8)));
            }
        } catch (Exception e) {
            statuses.computeIfAbsent("none", k -> new AtomicInteger()).incrementAndGet();
            failures.add(c.label() + ": no answer (" + e + "): " + abbreviate(new String(c.body(), StandardCharsets.UTF_8)));
        }
    }

    /**
     * Sends raw bytes and reads the first answer. A request whose Content-Length promises more bytes than it
     * sends is a client that stops mid-body: it closes its sending side, and the server may treat it as gone
     * (Pekko HTTP closes a connection whose client half-closed, racing the 400 it writes: the answer or a reset,
     * counted as "closed"). Every other request keeps its side open until the answer is read, so that no close of
     * ours races the server's answer.
     */
    private static void checkRaw(int port, byte[] request, Map<String, AtomicInteger> statuses, List<String> failures) {
        String label = abbreviate(new String(request, StandardCharsets.ISO_8859_1));
        boolean truncated = truncated(request);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) PER_REQUEST.toMillis());
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            if (truncated) {
                s.shutdownOutput();
            }
            String answer;
            try {
                answer = firstAnswer(s.getInputStream());
            } catch (java.net.SocketException e) {
                if (!truncated) {
                    throw e;
                }
                answer = null;
            }
            if (answer == null && truncated) {
                statuses.computeIfAbsent("closed", k -> new AtomicInteger()).incrementAndGet();
                return;
            }
            if (answer == null) {
                statuses.computeIfAbsent("none", k -> new AtomicInteger()).incrementAndGet();
                failures.add("raw: connection closed without an answer: " + label);
                return;
            }
            int status = Integer.parseInt(answer.substring(9, 12));
            statuses.computeIfAbsent(Integer.toString(status), k -> new AtomicInteger()).incrementAndGet();
            String why = contract(status, answer.substring(answer.indexOf("\r\n\r\n") + 4));
            if (why != null) {
                failures.add("raw: " + why + ": " + label);
            }
        } catch (Exception e) {
            statuses.computeIfAbsent("none", k -> new AtomicInteger()).incrementAndGet();
            failures.add("raw: no answer (" + e + "): " + label);
        }
    }

    /** Whether the request's Content-Length is larger than the bytes after its head. */
    static boolean truncated(byte[] request) {
        String r = new String(request, StandardCharsets.ISO_8859_1);
        int end = r.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        for (String line : r.substring(0, end).split("\r\n")) {
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                try {
                    return Long.parseLong(line.substring(15).strip()) > request.length - end - 4;
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return false;
    }

    /** Reads one HTTP answer with a Content-Length body; null if the connection closed before a status line. */
    private static String firstAnswer(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            String h = head.toString(StandardCharsets.ISO_8859_1);
            if (h.endsWith("\r\n\r\n")) {
                int length = 0;
                for (String line : h.split("\r\n")) {
                    if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                        length = Integer.parseInt(line.substring(15).strip());
                    }
                }
                return h + new String(in.readNBytes(length), StandardCharsets.UTF_8);
            }
        }
        return head.size() == 0 ? null : head.toString(StandardCharsets.ISO_8859_1);
    }

    /** Null when the answer keeps the contract, else what is wrong. */
    private static String contract(int status, String body) {
        if (status < 400 || status > 499) {
            return "status " + status + " " + abbreviate(body);
        }
        try {
            JsonNode e = JSON.readTree(body);
            if (!e.at("/error/message").isTextual() || !e.at("/error/type").isTextual()) {
                return "status " + status + " without an OpenAI error body: " + abbreviate(body);
            }
        } catch (IOException e) {
            return "status " + status + " with a body that is not JSON: " + abbreviate(body);
        }
        return null;
    }

    static String abbreviate(String s) {
        String t = s.replace("\r", "\\r").replace("\n", "\\n");
        return t.length() <= 200 ? t : t.substring(0, 200) + "...(" + t.length() + " chars)";
    }

    // ------------------------------------------------------------------ the requests

    private static final String[] STRING_FIELDS = {"model", "prompt", "stop", "cache_salt"};
    private static final String[] FIELDS = {"prompt", "messages", "model", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "top_k", "min_p", "seed", "stop", "stop_token_ids", "presence_penalty",
            "frequency_penalty", "repetition_penalty", "logprobs", "top_logprobs", "n", "best_of", "echo", "ignore_eos",
            "stream", "stream_options", "cache_salt"};
    private static final String[] VALUES = {"\"text\"", "[]", "{}", "true", "false", "1.5", "-1", "0", "1e400",
            "-1e400", "99999999999999999999999", "-99999999999999999999999", "2147483648", "-2147483649", "[1, \"a\"]",
            "[[[]]]", "{\"a\": 1}", "\"\\ud800\"", "\"\\udc00x\"", "[\"\\ud800\"]", "\"\"", "[-1]", "[1e10]",
            "[2147483647]"};

    static List<JsonCase> jsonCases(SplittableRandom random, int count) throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        Path corpus = NodeProcess.root().resolve(
                "router/src/test/resources/dev/baton/router/api/openai/RequestParserFuzzTestInputs/parse");
        try (Stream<Path> files = Files.list(corpus)) {
            for (Path f : files.sorted().toList()) {
                seeds.add(Files.readAllBytes(f));
            }
        }
        List<JsonCase> out = new ArrayList<>(count);
        // the fuzz corpus, where the parser refuses it (the valid seeds would be served)
        for (byte[] s : seeds) {
            addIfRefused(out, "corpus", s);
        }
        String chatBase = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4";
        String completionBase = "{\"prompt\": \"hi\", \"max_tokens\": 4";
        // fields over the limits the router enforces after parsing (answered 400 or 404, never served)
        for (String over : List.of("\"max_tokens\": 1000000000", "\"max_tokens\": 2147483647",
                "\"logprobs\": 21", "\"stop\": [" + "\"s\",".repeat(16) + "\"s\"]", "\"stop\": [\"" + "x".repeat(257) + "\"]",
                "\"model\": \"no-such-model\"", "\"stop_token_ids\": [99999999]", "\"temperature\": -1", "\"top_p\": 2")) {
            out.add(new JsonCase("limit", "/v1/completions", (completionBase.replace("\"max_tokens\": 4", "\"x\": 0")
                    + ", " + over + "}").getBytes(StandardCharsets.UTF_8)));
        }
        out.add(new JsonCase("limit", "/v1/completions", ("{\"prompt\": \"" + "hello ".repeat(3000) + "\"}")
                .getBytes(StandardCharsets.UTF_8)));
        out.add(new JsonCase("limit", "/v1/chat/completions", (chatBase + ", \"logprobs\": true, \"top_logprobs\": 21}")
                .getBytes(StandardCharsets.UTF_8)));
        while (out.size() < count) {
            int kind = random.nextInt(8);
            byte[] body;
            String label;
            switch (kind) {
                case 0 -> { // a seed mutated byte by byte
                    byte[] s = seeds.get(random.nextInt(seeds.size())).clone();
                    for (int m = 1 + random.nextInt(4); m > 0 && s.length > 0; m--) {
                        s[random.nextInt(s.length)] = (byte) random.nextInt(256);
                    }
                    body = s;
                    label = "mutated";
                }
                case 1 -> { // a field of the wrong type or range
                    String field = FIELDS[random.nextInt(FIELDS.length)];
                    String value = VALUES[random.nextInt(VALUES.length)];
                    String b = random.nextBoolean() ? chatBase : completionBase;
                    body = (b + ", \"" + field + "\": " + value + "}").getBytes(StandardCharsets.UTF_8);
                    label = "field";
                }
                case 2 -> { // a lone surrogate in a string field
                    String field = STRING_FIELDS[random.nextInt(STRING_FIELDS.length)];
                    String s = "\"a" + (random.nextBoolean() ? "\\ud800" : "\\udfff") + "b\"";
                    String b = random.nextBoolean() ? chatBase : completionBase.replace("\"prompt\": \"hi\", ", "");
                    body = (b + (b.startsWith("{\"max") ? "" : "") + ", \"" + field + "\": " + (field.equals("stop")
                            && random.nextBoolean() ? "[" + s + "]" : s) + "}").replace("{\"max_tokens\": 4, ",
                            "{\"prompt\": \"p\", \"max_tokens\": 4, ").getBytes(StandardCharsets.UTF_8);
                    label = "surrogate";
                }
                case 3 -> { // invalid UTF-8 inside a string
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    b.writeBytes("{\"prompt\": \"x".getBytes(StandardCharsets.UTF_8));
                    for (int i = 0; i < 1 + random.nextInt(4); i++) {
                        b.write(0x80 + random.nextInt(0x80));
                    }
                    b.writeBytes("\"}".getBytes(StandardCharsets.UTF_8));
                    body = b.toByteArray();
                    label = "utf8";
                }
                case 4 -> { // deep nesting
                    int depth = 1000 + random.nextInt(50_000);
                    String open = random.nextBoolean() ? "[" : "{\"a\":";
                    String close = open.equals("[") ? "]" : "}";
                    body = ("{\"prompt\": " + open.repeat(depth) + "1" + close.repeat(depth) + "}")
                            .getBytes(StandardCharsets.UTF_8);
                    label = "nesting";
                }
                case 5 -> { // a valid body cut short
                    byte[] s = (random.nextBoolean() ? chatBase + "}" : completionBase + ", \"stop\": [\"a\"]}")
                            .getBytes(StandardCharsets.UTF_8);
                    body = java.util.Arrays.copyOf(s, random.nextInt(s.length - 1));
                    label = "truncated";
                }
                case 6 -> { // huge or negative numbers
                    String field = FIELDS[3 + random.nextInt(FIELDS.length - 3)];
                    String n = (random.nextBoolean() ? "-" : "") + "9".repeat(1 + random.nextInt(400));
                    body = (completionBase + ", \"" + field + "\": " + n + "}").getBytes(StandardCharsets.UTF_8);
                    label = "number";
                }
                default -> { // random bytes
                    byte[] s = new byte[random.nextInt(64)];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = (byte) random.nextInt(256);
                    }
                    body = s;
                    label = "bytes";
                }
            }
            addIfRefused(out, label, body);
        }
        return out;
    }

    /** Adds {@code body} for both endpoints' parser if the parser refuses it there. */
    private static void addIfRefused(List<JsonCase> out, String label, byte[] body) {
        boolean chat = body.length > 0 && new String(body, StandardCharsets.UTF_8).contains("\"messages\"");
        Kind kind = chat ? Kind.CHAT : Kind.COMPLETION;
        try {
            RequestParser.parse(body, kind);
            return; // a request the router would serve: not malformed
        } catch (ApiException expected) {
            // malformed: send it
        }
        out.add(new JsonCase(label, chat ? "/v1/chat/completions" : "/v1/completions", body));
    }

    static List<byte[]> rawCases(SplittableRandom random, int count) {
        List<byte[]> out = new ArrayList<>(count);
        String body = "{\"prompt\": \"hi\", \"max_tokens\": 2}";
        while (out.size() < count) {
            String r = switch (random.nextInt(9)) {
                case 0 -> post(body.length() + 1 + random.nextInt(1000), body); // Content-Length larger than the body
                case 1 -> post(Math.max(1, body.length() - 1 - random.nextInt(body.length() - 1)), body) // smaller
                        + "garbage after the body\r\n\r\n";
                case 2 -> "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(9000 + random.nextInt(20_000)) + "\r\n\r\n";
                case 3 -> {
                    StringBuilder b = new StringBuilder("POST /v1/completions HTTP/1.1\r\nHost: x\r\n");
                    for (int i = 0; i < 70 + random.nextInt(100); i++) {
                        b.append("X-").append(i).append(": v\r\n");
                    }
                    yield b.append("Content-Length: ").append(body.length()).append("\r\n\r\n").append(body).toString();
                }
                // the malformed part last: bytes the server never reads before it answers and closes would make
                // the kernel reset the connection, which can discard the answer before the client reads it
                case 4 -> "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
                case 5 -> "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n";
                case 6 -> "BREW /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n";
                case 7 -> "GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: x\r\n\r\n";
                default -> "\u0000\u0001 garbage\r\n\r\n";
            };
            out.add(r.getBytes(StandardCharsets.ISO_8859_1));
        }
        return out;
    }

    private static String post(int contentLength, String body) {
        return "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + contentLength + "\r\n\r\n" + body;
    }
}
