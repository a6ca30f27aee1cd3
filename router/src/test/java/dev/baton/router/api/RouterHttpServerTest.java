package dev.baton.router.api;

import static dev.baton.router.api.ApiClient.body;
import static dev.baton.router.api.ApiClient.chunks;
import static dev.baton.router.api.ApiClient.error;
import static dev.baton.router.api.ApiClient.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.chat.ChatMessage;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.LoopSettings;
import dev.baton.router.api.openai.RequestLimits;
import dev.baton.router.api.openai.RequestParser;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The API end to end: a real HTTP client against the real server on an ephemeral port, with a real
 * engine loop on tiny-f32 behind it. A second server on the same backend has API keys.
 */
@Timeout(30)
class RouterHttpServerTest {

    static final String MODEL = "tiny-f32";
    static final String KEY = "sk-test-key";

    static Engine engine;
    static EngineLoop loop;
    static EngineBackend backend;
    static ActorSystem<Void> system;
    static PrometheusMeterRegistry registry;
    static RouterHttpServer.Binding open;
    static RouterHttpServer.Binding keyed;
    static RouterHttpServer.Binding limited;
    static ApiClient api;
    static ApiClient limitedApi;

    /** The limits of the third server on the same backend: each well under the model's and the engine's. */
    static final RequestLimits LIMITS = new RequestLimits(64, 4, 2, 5, 3);
    /** The third server's body timeout. */
    static final java.time.Duration BODY_TIMEOUT = java.time.Duration.ofMillis(1500);

    @BeforeAll
    static void start() throws Exception {
        engine = Engine.open(EngineSettings.defaults(ApiClient.model(MODEL)).withThreads(1).withKvCacheBytes(16L << 20));
        loop = new EngineLoop(engine, LoopSettings.defaults(), "router-test-loop");
        backend = new EngineBackend(engine, loop, MODEL);
        system = ApiClient.actorSystem("router-http-test");
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        open = RouterHttpServer.start(system, ApiClient.settings(), backend, registry).toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
        keyed = RouterHttpServer.start(system, ApiClient.settings().withApiKeys(List.of("other-key", KEY)), backend,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        api = new ApiClient(open.port());
        limited = RouterHttpServer.start(system, ApiClient.settings().withLimits(LIMITS).withBodyTimeout(BODY_TIMEOUT), backend,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        limitedApi = new ApiClient(limited.port());
    }

    @AfterAll
    static void stop() throws Exception {
        if (open != null) {
            open.close();
        }
        if (keyed != null) {
            keyed.close();
        }
        if (limited != null) {
            limited.close();
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

    /** What the engine's single-sequence {@link Generator} makes of a prompt, on an engine of its own. */
    static Generator.Result generate(int[] prompt, SamplingParams params) throws Exception {
        try (Engine alone = Engine.open(EngineSettings.defaults(ApiClient.model(MODEL)).withThreads(1)
                .withKvCacheBytes(4L << 20))) {
            return new Generator(alone).generate(prompt, params, t -> { });
        }
    }

    static int[] encode(String text) {
        return engine.tokenizer().encode(text, true, true);
    }

    static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().temperature(0).maxTokens(maxTokens).ignoreEos(true).build();
    }

    @Test
    void shouldShareCachedPromptBlocksOnlyBetweenRequestsWithTheSameCacheSalt() throws Exception {
        String prompt = "A prompt long enough to fill several KV blocks of sixteen tokens each, salted per tenant.";
        int[] cached = new int[4];
        String[] salts = {"tenant-a", "tenant-a", "tenant-b", null};
        for (int i = 0; i < cached.length; i++) {
            HttpResponse<String> r = api.post("/v1/completions", salts[i] == null
                    ? body("prompt", prompt, "max_tokens", 2, "temperature", 0)
                    : body("prompt", prompt, "max_tokens", 2, "temperature", 0, "cache_salt", salts[i]));
            assertEquals(200, r.statusCode(), r.body());
            cached[i] = json(r).at("/usage/prompt_tokens_details/cached_tokens").asInt();
        }
        assertEquals(0, cached[0], "the first request of tenant-a");
        assertTrue(cached[1] >= 16, "tenant-a again reuses its blocks: " + cached[1]);
        assertEquals(0, cached[2], "tenant-b does not see tenant-a's blocks");
        assertEquals(0, cached[3], "nor does a request without a salt");
        HttpResponse<String> bad = api.post("/v1/completions", body("prompt", prompt, "cache_salt", 7));
        assertEquals(400, bad.statusCode());
        assertEquals("cache_salt", json(bad).at("/error/param").asText());
    }

    @Test
    void shouldTakeASessionHeaderAndRefuseAnOverlongOneWith400() throws Exception {
        String request = body("prompt", "Once upon a time", "max_tokens", 2, "temperature", 0);
        assertEquals(200, api.post("/v1/completions", request, "X-Session-Id", "chat-42").statusCode());
        HttpResponse<String> bad = api.post("/v1/completions", request, "X-Session-Id",
                "s".repeat(RequestParser.MAX_SESSION_CHARS + 1));
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(json(bad).at("/error/message").asText().contains("X-Session-Id"), bad.body());
    }

    @Test
    void shouldAnswerACompletionWithOpenAisShape() throws Exception {
        HttpResponse<String> r = api.post("/v1/completions", body("model", MODEL, "prompt", "Once upon a time",
                "max_tokens", 8, "temperature", 0, "ignore_eos", true, "user", "someone"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode a = json(r);
        assertTrue(a.get("id").asText().startsWith("cmpl-"));
        assertEquals("text_completion", a.get("object").asText());
        assertTrue(a.get("created").asLong() > 1_600_000_000L);
        assertEquals(MODEL, a.get("model").asText());
        JsonNode choice = a.get("choices").get(0);
        assertEquals(0, choice.get("index").asInt());
        assertTrue(choice.get("text").isTextual());
        assertEquals("length", choice.get("finish_reason").asText());
        assertTrue(choice.get("logprobs").isNull());
        JsonNode usage = a.get("usage");
        assertEquals(encode("Once upon a time").length, usage.get("prompt_tokens").asInt());
        assertEquals(8, usage.get("completion_tokens").asInt());
        assertEquals(usage.get("prompt_tokens").asInt() + 8, usage.get("total_tokens").asInt());
        assertEquals(0, usage.get("prompt_tokens_details").get("cached_tokens").asInt());
    }

    @Test
    void shouldGiveTheSameTokensAsTheEnginesGenerator() throws Exception {
        int[] prompt = encode("Hello world! Once upon a time, there was a little girl named Lily.");
        Generator.Result expected = generate(prompt, greedy(40));
        HttpResponse<String> asIds = api.post("/v1/completions", body("prompt", prompt, "max_tokens", 40,
                "temperature", 0, "ignore_eos", true));
        HttpResponse<String> asText = api.post("/v1/completions", body("prompt",
                List.of("Hello world! Once upon a time, there was a little girl named Lily."), "max_tokens", 40,
                "temperature", 0, "ignore_eos", true));
        for (HttpResponse<String> r : List.of(asIds, asText)) {
            JsonNode a = json(r);
            assertEquals(expected.text(), a.get("choices").get(0).get("text").asText(), r.body());
            assertEquals(expected.tokens().length, a.get("usage").get("completion_tokens").asInt());
            assertEquals(prompt.length, a.get("usage").get("prompt_tokens").asInt());
        }
    }

    @Test
    void shouldAnswerAChatCompletionThroughTheChatTemplate() throws Exception {
        List<ChatMessage> messages = List.of(new ChatMessage("system", "You are terse."), new ChatMessage("user", "Hi!"));
        String rendered = engine.chatTemplate().render(messages, true);
        int[] prompt = engine.tokenizer().encode(rendered, true, true);
        Generator.Result expected = generate(prompt, greedy(12));
        HttpResponse<String> r = api.post("/v1/chat/completions", body("model", MODEL, "messages", List.of(
                Map.of("role", "system", "content", "You are terse."),
                Map.of("role", "user", "content", List.of(Map.of("type", "text", "text", "Hi!")))),
                "max_completion_tokens", 12, "temperature", 0, "ignore_eos", true));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode a = json(r);
        assertTrue(a.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("chat.completion", a.get("object").asText());
        JsonNode choice = a.get("choices").get(0);
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals(expected.text(), choice.get("message").get("content").asText());
        assertEquals("length", choice.get("finish_reason").asText());
        assertTrue(choice.get("logprobs").isNull());
        assertEquals(prompt.length, a.get("usage").get("prompt_tokens").asInt());
        assertEquals(engine.tokenizer().bosId(), prompt[0]);
        assertNotEquals(engine.tokenizer().bosId(), prompt[1], "BOS once, not twice");
    }

    @Test
    void shouldStreamACompletionAsServerSentEvents() throws Exception {
        int[] prompt = encode("Once upon a time");
        Generator.Result expected = generate(prompt, greedy(24));
        HttpResponse<String> r = api.post("/v1/completions", body("prompt", "Once upon a time", "max_tokens", 24,
                "temperature", 0, "ignore_eos", true, "stream", true, "stream_options", Map.of("include_usage", true)));
        List<JsonNode> chunks = chunks(r);
        assertTrue(chunks.size() >= 3, r.body());
        StringBuilder text = new StringBuilder();
        String id = chunks.get(0).get("id").asText();
        for (int i = 0; i < chunks.size() - 1; i++) {
            JsonNode c = chunks.get(i);
            assertEquals(id, c.get("id").asText());
            assertEquals("text_completion", c.get("object").asText());
            assertTrue(c.has("usage") && c.get("usage").isNull(), "usage: null in chunks when include_usage");
            JsonNode choice = c.get("choices").get(0);
            text.append(choice.get("text").asText());
            boolean last = i == chunks.size() - 2;
            assertEquals(last ? "length" : null, last ? choice.get("finish_reason").asText() : choice.get("finish_reason")
                    .textValue());
        }
        assertEquals(expected.text(), text.toString());
        JsonNode usage = chunks.getLast();
        assertEquals(0, usage.get("choices").size());
        assertEquals(24, usage.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt.length, usage.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void shouldReportLogprobsOfEveryTokenWholeAndStreamed() throws Exception {
        String request = "\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"temperature\":0,\"ignore_eos\":true,"
                + "\"logprobs\":3";
        JsonNode whole = json(api.post("/v1/completions", "{" + request + "}")).get("choices").get(0);
        JsonNode lp = whole.get("logprobs");
        assertTrue(lp.has("tokens"), whole.toString());
        assertEquals(10, lp.get("tokens").size(), whole.toString());
        int offset = 0;
        for (int i = 0; i < 10; i++) {
            String token = lp.get("tokens").get(i).asText();
            double logprob = lp.get("token_logprobs").get(i).asDouble();
            JsonNode top = lp.get("top_logprobs").get(i);
            assertTrue(logprob <= 0, "a log-probability: " + logprob);
            assertTrue(top.size() >= 1 && top.size() <= 3, top.toString());
            double best = top.properties().iterator().next().getValue().asDouble();
            assertEquals(best, logprob, 1e-6, "greedy: the chosen token is the most likely one");
            double mass = 0;
            for (var e : top.properties()) {
                mass += Math.exp(e.getValue().asDouble());
            }
            assertTrue(mass <= 1.0001, "top-3 probabilities sum to at most 1: " + mass);
            assertEquals(offset, lp.get("text_offset").get(i).asInt());
            offset += token.length();
        }

        List<JsonNode> chunks = chunks(api.post("/v1/completions", "{" + request + ",\"stream\":true}"));
        List<String> streamedTokens = new ArrayList<>();
        List<Double> streamedLogprobs = new ArrayList<>();
        for (JsonNode c : chunks) {
            JsonNode l = c.get("choices").get(0).get("logprobs");
            for (int i = 0; i < l.get("tokens").size(); i++) {
                assertEquals(joinedLength(streamedTokens), l.get("text_offset").get(i).asInt(), "offsets run on over chunks");
                streamedTokens.add(l.get("tokens").get(i).asText());
                streamedLogprobs.add(l.get("token_logprobs").get(i).asDouble());
            }
        }
        assertEquals(10, streamedTokens.size());
        for (int i = 0; i < 10; i++) {
            assertEquals(lp.get("tokens").get(i).asText(), streamedTokens.get(i));
            assertEquals(lp.get("token_logprobs").get(i).asDouble(), streamedLogprobs.get(i), 1e-9);
        }
    }

    private static int joinedLength(List<String> tokens) {
        return tokens.stream().mapToInt(String::length).sum();
    }

    @Test
    void shouldReportChatLogprobsWithTopAlternativesAndBytes() throws Exception {
        JsonNode a = json(api.post("/v1/chat/completions", body("messages",
                List.of(Map.of("role", "user", "content", "Tell me a story")), "max_tokens", 6, "temperature", 0,
                "ignore_eos", true, "logprobs", true, "top_logprobs", 2)));
        JsonNode content = a.get("choices").get(0).get("logprobs").get("content");
        assertEquals(6, content.size(), a.toString());
        StringBuilder text = new StringBuilder();
        for (JsonNode t : content) {
            assertEquals(2, t.get("top_logprobs").size());
            assertEquals(t.get("top_logprobs").get(0).get("logprob").asDouble(), t.get("logprob").asDouble(), 1e-6);
            assertTrue(t.get("top_logprobs").get(0).get("logprob").asDouble()
                    >= t.get("top_logprobs").get(1).get("logprob").asDouble(), "descending");
            byte[] bytes = new byte[t.get("bytes").size()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) t.get("bytes").get(i).asInt();
            }
            text.append(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
        }
        assertEquals(a.get("choices").get(0).get("message").get("content").asText(), text.toString(),
                "the tokens' bytes make the answer");
        JsonNode none = json(api.post("/v1/chat/completions", body("messages",
                List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 2, "logprobs", false)));
        assertTrue(none.get("choices").get(0).get("logprobs").isNull(), "no logprobs unless asked for");
    }

    @Test
    void shouldStreamAChatCompletionStartingWithTheAssistantRole() throws Exception {
        HttpResponse<String> r = api.post("/v1/chat/completions", body("messages",
                List.of(Map.of("role", "user", "content", "Tell me a story")), "max_tokens", 16, "temperature", 0,
                "ignore_eos", true, "stream", true));
        List<JsonNode> chunks = chunks(r);
        JsonNode first = chunks.getFirst();
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        JsonNode last = chunks.getLast();
        assertEquals("length", last.get("choices").get(0).get("finish_reason").asText());
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertFalse(c.has("usage"), "no usage without include_usage");
            assertTrue(c.get("choices").get(0).has("delta"));
        }
        for (JsonNode c : chunks.subList(1, chunks.size())) {
            assertFalse(c.get("choices").get(0).get("delta").has("role"), "the role comes once");
        }
    }

    @Test
    void shouldStopBeforeAStopStringWithFinishReasonStop() throws Exception {
        int[] prompt = encode("Once upon a time");
        String full = generate(prompt, greedy(40)).text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        String before = full.substring(0, full.indexOf(stop));
        HttpResponse<String> r = api.post("/v1/completions", body("prompt", "Once upon a time", "max_tokens", 40,
                "temperature", 0, "ignore_eos", true, "stop", List.of(stop)));
        JsonNode choice = json(r).get("choices").get(0);
        assertEquals(before, choice.get("text").asText(), "stop string '" + stop + "' in '" + full + "'");
        assertEquals("stop", choice.get("finish_reason").asText());

        HttpResponse<String> streamed = api.post("/v1/completions", body("prompt", "Once upon a time",
                "max_tokens", 40, "temperature", 0, "ignore_eos", true, "stop", stop, "stream", true));
        List<JsonNode> chunks = chunks(streamed);
        StringBuilder text = new StringBuilder();
        chunks.forEach(c -> text.append(c.get("choices").get(0).get("text").asText()));
        assertEquals(before, text.toString());
        assertEquals("stop", chunks.getLast().get("choices").get(0).get("finish_reason").asText());
    }

    static Stream<Arguments> badRequests() {
        int[] tooLong = new int[600];
        int[] nearlyFull = new int[500];
        return Stream.of(
                Arguments.of("/v1/completions", "{\"prompt\": \"x\",", 400, null, "invalid_json"),
                Arguments.of("/v1/completions", "[1, 2]", 400, null, null),
                Arguments.of("/v1/completions", body("prompt", "x", "max_tokens", "ten"), 400, "max_tokens", null),
                Arguments.of("/v1/completions", body("prompt", 42), 400, "prompt", null),
                Arguments.of("/v1/completions", body("max_tokens", 5), 400, "prompt", null),
                Arguments.of("/v1/completions", body("prompt", "x", "stream", "yes"), 400, "stream", null),
                Arguments.of("/v1/completions", body("model", "gpt-4", "prompt", "x"), 404, "model", "model_not_found"),
                Arguments.of("/v1/completions", body("prompt", "x", "max_tokens", -1), 400, "max_tokens", null),
                Arguments.of("/v1/completions", body("prompt", tooLong), 400, "prompt", "context_length_exceeded"),
                Arguments.of("/v1/completions", body("prompt", nearlyFull, "max_tokens", 100), 400, "max_tokens",
                        "context_length_exceeded"),
                Arguments.of("/v1/completions", body("prompt", List.of(1, 99999)), 400, "prompt", null),
                Arguments.of("/v1/completions", body("prompt", "x", "n", 2), 400, "n", null),
                Arguments.of("/v1/completions", body("prompt", "x", "temperature", 5), 400, "temperature", null),
                Arguments.of("/v1/completions", body("prompt", "x", "top_p", 0), 400, "top_p", null),
                Arguments.of("/v1/completions", body("prompt", List.of("a", "b")), 400, "prompt", null),
                Arguments.of("/v1/chat/completions", body("prompt", "x"), 400, "messages", null),
                Arguments.of("/v1/chat/completions", body("messages", List.of(Map.of("content", "hi"))), 400,
                        "messages[0].role", null),
                Arguments.of("/v1/chat/completions", body("messages", List.of(Map.of("role", "user", "content", "hi")),
                        "max_completion_tokens", 0), 400, "max_completion_tokens", null),
                Arguments.of("/v1/nothing", body("prompt", "x"), 404, null, "unknown_url"));
    }

    @ParameterizedTest(name = "{0} {1} -> {2} {3}")
    @MethodSource("badRequests")
    void shouldRefuseABadRequestWithAnOpenAiErrorAndKeepServing(String path, String requestBody, int status, String param,
            String code) throws Exception {
        JsonNode e = error(api.post(path, requestBody), status);
        assertEquals(param, e.get("param").textValue(), e.toString());
        if (code != null) {
            assertEquals(code, e.get("code").textValue(), e.toString());
        }
        assertEquals(200, api.post("/v1/completions", body("prompt", "x", "max_tokens", 1)).statusCode());
    }

    static Stream<Arguments> overLimits() {
        List<Map<String, String>> longChat = List.of(Map.of("role", "user", "content", "word ".repeat(100)));
        return Stream.of(
                Arguments.of("/v1/completions", body("prompt", new int[65], "max_tokens", 1), "prompt",
                        "the prompt has 65 tokens, over this server's limit of 64 (max-prompt-tokens)"),
                Arguments.of("/v1/chat/completions", body("messages", longChat, "max_tokens", 1), "messages",
                        "over this server's limit of 64 (max-prompt-tokens)"),
                Arguments.of("/v1/completions", body("prompt", "x", "max_tokens", 5), "max_tokens",
                        "max_tokens = 5 is over this server's limit of 4 tokens (max-tokens)"),
                Arguments.of("/v1/chat/completions", body("messages", List.of(Map.of("role", "user", "content", "Hi")),
                        "max_completion_tokens", 5), "max_completion_tokens", "limit of 4 tokens (max-tokens)"),
                Arguments.of("/v1/completions", body("prompt", "x", "stop", List.of("a", "b", "c")), "stop",
                        "stop has 3 strings, over this server's limit of 2 (max-stop-strings)"),
                Arguments.of("/v1/completions", body("prompt", "x", "stop", "abcdef"), "stop",
                        "6 characters, over this server's limit of 5 (max-stop-string-chars)"),
                Arguments.of("/v1/completions", body("prompt", "x", "logprobs", 4), "logprobs",
                        "logprobs = 4 is over this server's limit of 3 (max-logprobs)"),
                Arguments.of("/v1/chat/completions", body("messages", List.of(Map.of("role", "user", "content", "Hi")),
                        "logprobs", true, "top_logprobs", 4), "top_logprobs", "limit of 3 (max-logprobs)"),
                Arguments.of("/v1/completions", body("prompt", "x", "n", 2), "n", "one choice per request (n = 1 only)"));
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @MethodSource("overLimits")
    void shouldRefuseARequestOverAConfiguredLimitNamingTheLimit(String path, String requestBody, String param,
            String message) throws Exception {
        JsonNode e = error(limitedApi.post(path, requestBody), 400);
        assertEquals(param, e.get("param").textValue(), e.toString());
        assertTrue(e.get("message").textValue().contains(message), e.toString());
        assertEquals("invalid_request_error", e.get("type").textValue(), e.toString());
    }

    @Test
    void shouldAcceptARequestAtEveryConfiguredLimit() throws Exception {
        HttpResponse<String> r = limitedApi.post("/v1/completions", body("prompt", new int[64], "max_tokens", 4,
                "temperature", 0, "ignore_eos", true, "stop", List.of("abcde", "vwxyz"), "logprobs", 3));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode a = json(r);
        assertEquals(64, a.get("usage").get("prompt_tokens").asInt());
        assertEquals(4, a.get("usage").get("completion_tokens").asInt());
        assertEquals(200, api.post("/v1/completions", body("prompt", new int[65], "max_tokens", 5, "logprobs", 4,
                "stop", List.of("a", "b", "c", "abcdef"))).statusCode(), "the default limits are the model's and engine's");
    }

    @Test
    void shouldCutTheDefaultMaxTokensOfAChatToTheConfiguredLimit() throws Exception {
        HttpResponse<String> r = limitedApi.post("/v1/chat/completions", body("messages",
                List.of(Map.of("role", "user", "content", "Hi")), "temperature", 0, "ignore_eos", true));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode a = json(r);
        assertEquals(4, a.get("usage").get("completion_tokens").asInt(), a.toString());
        assertEquals("length", a.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void shouldReadTheBodyAsUtf8WhateverTheContentTypeSays() throws Exception {
        String prompt = "Caf\u00e9 \u2603 na\u00efve";
        HttpResponse<String> r = api.post("/v1/completions", body("prompt", prompt, "max_tokens", 1), "text/plain");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(encode(prompt).length, json(r).get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void shouldRefuseABodyOverTheLimitWith413() throws Exception {
        String huge = body("prompt", "x".repeat((int) ApiClient.settings().maxRequestBytes() + 1));
        assertEquals("request_too_large", error(api.postExpectingContinue("/v1/completions", huge), 413).get("code").asText());
        assertEquals(200, api.get("/health").statusCode());
    }

    /** Sends {@code request} as raw bytes and reads the whole answer (the server closes after a parse error). */
    static String raw(String request) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", open.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /**
     * A client that sends the headers and part of the body, then stalls, gets 408 once the body timeout is past (and
     * the connection closed), not after the request timeout; a body that arrives in time, in pieces, is served.
     */
    @Test
    void shouldAnswerABodyThatStallsWith408AfterTheBodyTimeout() throws Exception {
        String body = "{\"prompt\":\"Hello\",\"max_tokens\":2}";
        String head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length() + "\r\n\r\n";
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", limited.port())) {
            s.setSoTimeout(10_000);
            long start = System.nanoTime();
            s.getOutputStream().write((head + body.substring(0, 10)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertOpenAiError(answer, 408);
            assertTrue(answer.contains("request_timeout") && answer.contains("body-timeout"), answer);
            assertTrue(millis >= BODY_TIMEOUT.toMillis() - 100, "answered after " + millis + " ms");
        }
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", limited.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write((head + body.substring(0, 10)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            Thread.sleep(BODY_TIMEOUT.toMillis() / 3);
            s.getOutputStream().write((body.substring(10)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            s.shutdownOutput();
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
        }
    }

    static void assertOpenAiError(String answer, int status) throws Exception {
        assertTrue(answer.startsWith("HTTP/1.1 " + status + " "), answer);
        JsonNode e = ApiClient.JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
        assertTrue(e.at("/error/message").isTextual() && e.at("/error/type").isTextual(), answer);
    }

    @Test
    void shouldAnswerRequestsPekkoCannotParseWithOpenAiErrors() throws Exception {
        assertOpenAiError(raw("GARBAGE\r\n\r\n"), 400);
        assertOpenAiError(raw("BREW /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n"), 400); // Pekko: 501
        assertOpenAiError(raw("GET /health HTTP/9.9\r\nHost: x\r\n\r\n"), 400); // Pekko: 505
        String big = raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(ApiClient.settings().maxHeaderBytes() + 1)
                + "\r\n\r\n");
        assertOpenAiError(big, 431);
        assertTrue(big.contains("max-header-bytes"), big);
        StringBuilder many = new StringBuilder("GET /health HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i <= ApiClient.settings().maxHeaders(); i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        String tooMany = raw(many.append("\r\n").toString());
        assertOpenAiError(tooMany, 400); // Pekko's status for too many headers
        assertTrue(tooMany.contains("max-headers"), tooMany);
        assertOpenAiError(raw("GET /" + "a".repeat(ApiClient.settings().maxUriBytes() + 1) + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414);
        assertEquals(200, api.get("/health").statusCode());
    }

    @Test
    void shouldRefuseAWrongMethodWith405() throws Exception {
        JsonNode e = error(api.get("/v1/completions"), 405);
        assertTrue(e.get("message").asText().contains("POST"), e.toString());
    }

    @Test
    void shouldRequireAValidKeyWhenKeysAreConfigured() throws Exception {
        String request = body("prompt", "x", "max_tokens", 1);
        HttpResponse<String> none = new ApiClient(keyed.port()).post("/v1/completions", request);
        assertEquals("invalid_api_key", error(none, 401).get("code").asText());
        assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
        assertEquals(401, new ApiClient(keyed.port(), "sk-wrong").post("/v1/completions", request).statusCode());
        assertEquals(401, new ApiClient(keyed.port()).get("/v1/models").statusCode());
        assertEquals(200, new ApiClient(keyed.port(), KEY).post("/v1/completions", request).statusCode());
        assertEquals(200, new ApiClient(keyed.port(), KEY).get("/v1/models").statusCode());
        assertEquals(200, new ApiClient(keyed.port()).get("/health").statusCode(), "probes need no key");
        assertEquals(200, new ApiClient(keyed.port()).get("/ready").statusCode());
        assertEquals(200, new ApiClient(keyed.port()).get("/metrics").statusCode());
    }

    @Test
    void shouldCompleteSixteenConcurrentStreamsWithTheirOwnTokens() throws Exception {
        int n = 16;
        int maxTokens = 32;
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String request = body("prompt", "Story number " + i + ":", "max_tokens", maxTokens, "temperature", 0,
                    "ignore_eos", true, "stream", true, "stream_options", Map.of("include_usage", true));
            futures.add(ApiClient.http().sendAsync(api.request("/v1/completions").POST(
                    java.net.http.HttpRequest.BodyPublishers.ofString(request)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < n; i++) {
            List<JsonNode> chunks = chunks(futures.get(i).get(25, TimeUnit.SECONDS));
            JsonNode usage = chunks.getLast().get("usage");
            assertEquals(maxTokens, usage.get("completion_tokens").asInt(), "request " + i);
            StringBuilder text = new StringBuilder();
            chunks.subList(0, chunks.size() - 1).forEach(c -> text.append(c.get("choices").get(0).get("text").asText()));
            int[] prompt = encode("Story number " + i + ":");
            assertEquals(prompt.length, usage.get("prompt_tokens").asInt());
            assertEquals(generate(prompt, greedy(maxTokens)).text(), text.toString(), "request " + i);
        }
        awaitAllBlocksFree();
    }

    @Test
    void shouldListTheServedModel() throws Exception {
        JsonNode list = json(api.get("/v1/models"));
        assertEquals("list", list.get("object").asText());
        JsonNode m = list.get("data").get(0);
        assertEquals(MODEL, m.get("id").asText());
        assertEquals("model", m.get("object").asText());
        assertEquals(512, m.get("max_model_len").asInt());
    }

    @Test
    void shouldServeProbesAndTheClusterView() throws Exception {
        assertEquals("ok", json(api.get("/health")).get("status").asText());
        assertEquals("ready", json(api.get("/ready")).get("status").asText());
        JsonNode cluster = json(api.get("/v1/cluster"));
        assertEquals("worker", cluster.get("members").get(0).get("role").asText());
    }

    @Test
    void shouldAnswerADrainOfAnUnknownNodeWith404() throws Exception {
        HttpResponse<String> r = api.post("/v1/cluster/nodes/decode-9/drain", "");
        assertEquals(404, r.statusCode(), r.body());
        assertTrue(json(r).get("reason").asText().contains("decode-9"), r.body());
        assertEquals(405, api.get("/v1/cluster/nodes/decode-9/drain").statusCode(), "drain is a POST");
    }

    @Test
    void shouldExportRequestCountsAndLatencyHistogramsAsPrometheusText() throws Exception {
        assertEquals(200, api.post("/v1/completions", body("prompt", "x", "max_tokens", 2)).statusCode());
        HttpResponse<String> r = api.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        String text = r.body();
        assertTrue(text.lines().anyMatch(l -> l.startsWith("baton_router_requests_total{")
                && l.contains("endpoint=\"/v1/completions\"") && l.contains("status=\"200\"")), text);
        assertTrue(text.contains("baton_router_time_to_first_token_seconds_bucket{"), text);
        assertTrue(text.contains("baton_router_time_per_output_token_seconds_bucket{"), text);
        assertTrue(text.contains("baton_router_request_duration_seconds_bucket{"), text);
        assertTrue(text.contains("baton_router_completion_tokens_total{"), text);
        assertTrue(text.contains("baton_router_requests_in_flight{"), text);
        assertFalse(text.contains("cmpl-") || text.contains("req-"), "no request ids in metrics");
    }

    static void awaitAllBlocksFree() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (backend.freeBlocks() != backend.totalBlocks() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(backend.totalBlocks(), backend.freeBlocks(), "every KV block back in the pool");
    }

}
