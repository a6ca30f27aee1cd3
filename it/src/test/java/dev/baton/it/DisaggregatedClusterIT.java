package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.chat.ChatMessage;
import dev.baton.engine.sampling.SamplingParams;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disaggregated cluster as separate processes: a router, two prefill nodes and two decode
 * nodes (bin/baton router|prefill|decode), KV shipped over Aeron UDP on loopback. Same tokens as one
 * process; a disconnected client's blocks freed on every node; a decode node and then a prefill
 * node killed with SIGKILL while streams run: those streams move to the nodes that are left and
 * complete (CrashMatrixIT checks their tokens), and new requests go to the nodes that are left.
 */
@Timeout(300)
class DisaggregatedClusterIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldServeThroughPrefillAndDecodeNodesAndSurviveLosingOneOfEach(@TempDir Path dir) throws Exception {
        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess router = NodeProcess.start(dir, "router", "router", "--model", MODEL.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed);
                NodeProcess p1 = node(dir, "p1", "prefill", seed);
                NodeProcess p2 = node(dir, "p2", "prefill", seed);
                NodeProcess d1 = node(dir, "d1", "decode", seed);
                NodeProcess d2 = node(dir, "d2", "decode", seed)) {
            List<NodeProcess> all = List.of(router, p1, p2, d1, d2);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String base = "http://127.0.0.1:" + httpPort;
            ConcurrentStreamsIT.awaitReady(http, base, 4, all, 150);

            // 1. the same greedy request: the disaggregated cluster, the engine alone, bin/baton generate
            String prompt = "Once upon a time there was a little";
            JsonNode r = HttpClusterIT.post(http, base + "/v1/completions",
                    "{\"prompt\":\"" + prompt + "\",\"max_tokens\":40,\"temperature\":0}");
            String expected;
            try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(8L << 20))) {
                int[] ids = e.tokenizer().encode(prompt, true, false);
                expected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(40).build(),
                        t -> { }).text();
            }
            assertEquals(expected, r.at("/choices/0/text").asText(), r.toString());
            assertEquals(expected, generate(dir, prompt, 40).get("text").asText());
            // a seeded sampled request: the decode node continues the prefill node's draws
            String sampled = "{\"prompt\":\"" + prompt + "\",\"max_tokens\":30,\"temperature\":0.9,\"top_k\":40,"
                    + "\"seed\":7,\"ignore_eos\":true}";
            try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(8L << 20))) {
                int[] ids = e.tokenizer().encode(prompt, true, false);
                expected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0.9f).topK(40).seed(7)
                        .maxTokens(30).ignoreEos(true).build(), t -> { }).text();
            }
            assertEquals(expected, HttpClusterIT.post(http, base + "/v1/completions", sampled).at("/choices/0/text").asText());
            // logprobs: the first token's from the prefill node, the others' from the decode node, in order
            JsonNode lp = HttpClusterIT.post(http, base + "/v1/completions", "{\"prompt\":\"" + prompt
                    + "\",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true,\"logprobs\":2}").at("/choices/0/logprobs");
            assertEquals(12, lp.get("tokens").size(), lp.toString());
            for (int i = 0; i < 12; i++) {
                assertEquals(lp.get("top_logprobs").get(i).properties().iterator().next().getValue().asDouble(),
                        lp.get("token_logprobs").get(i).asDouble(), 1e-6, "greedy token " + i + " is the likeliest");
            }

            // 3. chat completions apply the model's chat template; stop strings and max_tokens end streams
            String chat = "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
                    + "\"content\":\"Tell me a story\"}],\"max_tokens\":30,\"temperature\":0";
            JsonNode whole = HttpClusterIT.post(http, base + "/v1/chat/completions", chat + ",\"ignore_eos\":true}");
            String chatExpected;
            int chatPrompt;
            try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(8L << 20))) {
                int[] ids = e.chatTemplate().encodePrompt(List.of(new ChatMessage("system", "Be brief."),
                        new ChatMessage("user", "Tell me a story")), e.tokenizer());
                chatPrompt = ids.length;
                chatExpected = new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(30)
                        .ignoreEos(true).build(), t -> { }).text();
            }
            assertEquals(chatPrompt, whole.at("/usage/prompt_tokens").asInt(), "the chat template's tokens");
            assertEquals(chatExpected, whole.at("/choices/0/message/content").asText());
            assertEquals("length", whole.at("/choices/0/finish_reason").asText());
            String stop = stopString(chatExpected);
            List<String> stopped = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(chat + ",\"ignore_eos\":true,\"stream\":true,\"stop\":"
                            + JSON.writeValueAsString(stop) + "}")).build(), HttpResponse.BodyHandlers.ofLines())
                    .body().filter(l -> l.startsWith("data: ")).toList();
            assertEquals("data: [DONE]", stopped.get(stopped.size() - 1));
            StringBuilder streamed = new StringBuilder();
            String finish = null;
            for (String line : stopped.subList(0, stopped.size() - 1)) {
                JsonNode choice = JSON.readTree(line.substring(6)).at("/choices/0");
                streamed.append(choice.at("/delta/content").asText(""));
                if (choice.hasNonNull("finish_reason")) {
                    finish = choice.get("finish_reason").asText();
                }
            }
            assertEquals("stop", finish, "a stop string ends the stream with finish_reason stop");
            assertEquals(chatExpected.substring(0, chatExpected.indexOf(stop)), streamed.toString(),
                    "the text up to the stop string, without it");

            // 4. a client that disconnects mid-stream: its blocks are freed on the prefill and decode nodes
            HttpResponse<InputStream> stream = http.send(streamRequest(base, "Hello", 480), HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
            for (int events = 0; events < 3; ) {
                String line = lines.readLine();
                assertTrue(line != null, "stream ended early");
                events += line.startsWith("data: ") ? 1 : 0;
            }
            stream.body().close();
            awaitIdle(http, base, 4, all);

            // 6a. SIGKILL a decode node while streams run on both
            List<CompletableFuture<HttpResponse<Stream<String>>>> streams = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                streams.add(http.sendAsync(streamRequest(base, "story " + i, 400), HttpResponse.BodyHandlers.ofLines()));
            }
            String victim = awaitBusy(http, base, "decode");
            NodeProcess killed = victim.equals("d1") ? d1 : d2;
            killed.kill();
            long killedAt = System.nanoTime();
            int errors = 0;
            for (CompletableFuture<HttpResponse<Stream<String>>> s : streams) {
                List<String> data = s.get(60, TimeUnit.SECONDS).body().filter(l -> l.startsWith("data: ")).toList();
                assertEquals("data: [DONE]", data.get(data.size() - 1));
                errors += data.stream().anyMatch(l -> l.contains("\"error\"")) ? 1 : 0;
            }
            assertEquals(0, errors, "the streams of the killed decode node move to the other one (stream migration)");
            assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(30), "streams must end within seconds");
            awaitMarkedDown(http, base, victim, all);
            for (int i = 0; i < 3; i++) {
                assertEquals(12, HttpClusterIT.post(http, base + "/v1/completions",
                        "{\"prompt\":\"after " + i + "\",\"max_tokens\":12,\"ignore_eos\":true}").at("/usage/completion_tokens").asInt());
            }

            // 6b. SIGKILL a prefill node: the cluster marks it down and the other one takes new requests
            String prefillVictim = "p1";
            p1.kill();
            awaitMarkedDown(http, base, prefillVictim, all);
            for (int i = 0; i < 3; i++) {
                assertEquals(10, HttpClusterIT.post(http, base + "/v1/completions",
                        "{\"prompt\":\"later " + i + "\",\"max_tokens\":10,\"ignore_eos\":true}").at("/usage/completion_tokens").asInt());
            }
            awaitIdle(http, base, 2, all);
        }
    }

    /** Three printable characters from the middle of {@code text}, first seen there (a stop string that will match). */
    static String stopString(String text) {
        for (int i = text.length() / 3; i + 3 <= text.length(); i++) {
            String c = text.substring(i, i + 3);
            if (c.chars().allMatch(ch -> ch >= 'a' && ch <= 'z') && text.indexOf(c) == i) {
                return c;
            }
        }
        throw new AssertionError("no stop string candidate in " + text);
    }

    /** A node process of {@code role} joining the cluster at {@code seed}, with {@code extra} arguments. */
    static NodeProcess node(Path dir, String id, String role, String seed, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of(role, "--model", MODEL.toString(), "--threads", "1", "--cluster-port",
                Integer.toString(NodeProcess.freePort()), "--kv-port", Integer.toString(NodeProcess.freePort()),
                "--kv-reply-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", id));
        args.addAll(List.of(extra));
        return NodeProcess.start(dir, id, args.toArray(String[]::new));
    }

    static HttpRequest streamRequest(String base, String prompt, int maxTokens) {
        return HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt
                        + "\",\"max_tokens\":" + maxTokens + ",\"ignore_eos\":true,\"stream\":true}")).build();
    }

    static JsonNode nodes(HttpClient http, String base) throws Exception {
        return JSON.readTree(HttpClusterIT.raw(http, base + "/v1/cluster", null).body()).get("nodes");
    }

    /**
     * Waits until {@code count} reachable nodes report no running request and no used block, and the
     * router has no request in flight on them (its own count: the nodes' reports may be older than the
     * last request).
     */
    static void awaitIdle(HttpClient http, String base, int count, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            JsonNode nodes = nodes(http, base);
            int idle = 0;
            for (JsonNode n : nodes) {
                if (n.get("reachable").asBoolean() && n.at("/kv/blocks_used").asInt() == 0 && n.get("running").asInt() == 0
                        && n.get("in_flight").asInt() == 0) {
                    idle++;
                }
            }
            if (idle == count) {
                return;
            }
            JsonNode last = nodes;
            assertTrue(System.nanoTime() < deadline, () -> "blocks not freed: " + last + "\n" + logs(all));
            Thread.sleep(200);
        }
    }

    /**
     * Once the router has requests in flight on two nodes of {@code role}, the id of one of them: one
     * that reports running a request if the last load reports say so, else the one with the most in
     * flight. The router's in-flight counts change as it dispatches; the nodes' running counts come
     * with load polls (every 500 ms), and on the tiny model a 400-token stream can start and end
     * between two, so they only pick among the nodes that hold requests.
     */
    static String awaitBusy(HttpClient http, String base, String role) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            last = nodes(http, base);
            int holding = 0;
            String running = null;
            String busiest = null;
            int most = 0;
            for (JsonNode n : last) {
                int inFlight = n.get("in_flight").asInt();
                if (n.get("role").asText().equals(role) && inFlight > 0) {
                    holding++;
                    if (n.get("running").asInt() > 0) {
                        running = n.get("node").asText();
                    }
                    if (inFlight > most) {
                        most = inFlight;
                        busiest = n.get("node").asText();
                    }
                }
            }
            if (holding >= 2) {
                return running != null ? running : busiest;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the streams did not spread over two " + role + " nodes: " + last);
    }

    static void awaitMarkedDown(HttpClient http, String base, String id, List<NodeProcess> all) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            boolean up = false;
            for (JsonNode n : nodes(http, base)) {
                up |= n.get("node").asText().equals(id) && n.get("reachable").asBoolean();
            }
            if (!up) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, () -> id + " still marked reachable\n" + logs(all));
            Thread.sleep(200);
        }
    }

    static JsonNode generate(Path dir, String prompt, int maxTokens) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(NodeProcess.root().resolve("bin/baton").toString(), "generate", "--model",
                MODEL.toString(), "--threads", "1", "--prompt", prompt, "--max-tokens", Integer.toString(maxTokens),
                "--output", "json").redirectError(dir.resolve("generate.err").toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        pb.environment().put("BATON_JVM_OPTS", "-Xmx256m");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bin/baton generate timed out");
        assertEquals(0, p.exitValue(), out + Files.readString(dir.resolve("generate.err")));
        return JSON.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow());
    }

    static String logs(List<NodeProcess> all) {
        StringBuilder sb = new StringBuilder();
        for (NodeProcess n : all) {
            sb.append("---- ").append(n.log).append('\n').append(n.log());
        }
        return sb.toString();
    }
}
