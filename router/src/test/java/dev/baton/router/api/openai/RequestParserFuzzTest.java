package dev.baton.router.api.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import dev.baton.engine.chat.ChatMessage;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.CompletionRequest.Prompt;
import java.io.IOException;
import java.util.List;

/**
 * Fuzz harness of the OpenAI request parser (README "Fuzzing"): any body, as both a completion and a chat
 * completion, under the engine's limits and under tight {@link RequestLimits}, is either a request or an
 * {@link ApiException} with a 400 whose OpenAI error body is valid JSON; never another exception. A request
 * it accepts is within the limits and can travel to a node: its strings are valid Unicode and what goes in
 * the node's message serializes as CBOR, as the cluster's serializer writes it.
 *
 * <p>Inputs: {@code src/test/resources/dev/baton/router/api/openai/RequestParserFuzzTestInputs/parse/}.
 */
class RequestParserFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());
    private static final List<RequestLimits> LIMITS = List.of(RequestLimits.ENGINE, new RequestLimits(8, 4, 1, 2, 1));

    @FuzzTest(maxDuration = "20s")
    @DictionaryEntries({"\"prompt\"", "\"messages\"", "\"role\"", "\"content\"", "\"type\"", "\"text\"", "\"model\"",
            "\"max_tokens\"", "\"max_completion_tokens\"", "\"temperature\"", "\"top_p\"", "\"top_k\"", "\"min_p\"",
            "\"seed\"", "\"stop\"", "\"stop_token_ids\"", "\"presence_penalty\"", "\"frequency_penalty\"",
            "\"repetition_penalty\"", "\"logprobs\"", "\"top_logprobs\"", "\"n\"", "\"best_of\"", "\"echo\"",
            "\"ignore_eos\"", "\"stream\"", "\"stream_options\"", "\"include_usage\"", "\"cache_salt\"", "\\ud800",
            "\\udc00", "\\u0000", "1e400", "-1", "2147483648", "9223372036854775808", "true", "null", "[]", "{}"})
    void parse(byte[] body) throws IOException {
        for (RequestLimits limits : LIMITS) {
            for (Kind kind : Kind.values()) {
                CompletionRequest request;
                try {
                    request = RequestParser.parse(body, kind, limits);
                } catch (ApiException e) {
                    ApiError error = e.error();
                    assertEquals(400, error.status(), error.toString());
                    assertFalse(error.message().isBlank());
                    JsonNode answer = JSON.readTree(OpenAiJson.error(error));
                    assertTrue(answer.at("/error/message").isTextual() && answer.at("/error/type").isTextual(),
                            answer.toString());
                    continue;
                }
                checkSendable(request, limits);
            }
        }
    }

    /** What of an accepted request leaves the router: the sampling spec, the salt, and the prompt's text. */
    private static void checkSendable(CompletionRequest r, RequestLimits limits) throws IOException {
        assertTrue(r.sampling().stopStrings().size() <= limits.maxStopStrings());
        assertTrue(r.sampling().logprobs().orElse(0) <= limits.maxLogprobs());
        assertTrue(limits.maxTokens() == 0 || r.maxTokens().orElse(0) <= limits.maxTokens());
        CBOR.writeValueAsBytes(r.sampling().toSpec());
        CBOR.writeValueAsBytes(r.cacheSalt());
        assertEquals(-1, RequestParser.loneSurrogate(r.cacheSalt()));
        for (String stop : r.sampling().stopStrings()) {
            assertTrue(stop.length() <= limits.maxStopStringChars(), stop);
            assertEquals(-1, RequestParser.loneSurrogate(stop), stop);
        }
        switch (r.prompt()) {
            case Prompt.Text t -> assertEquals(-1, RequestParser.loneSurrogate(t.text()));
            case Prompt.Messages m -> {
                assertFalse(m.messages().isEmpty());
                for (ChatMessage message : m.messages()) {
                    assertEquals(-1, RequestParser.loneSurrogate(message.role()));
                    assertEquals(-1, RequestParser.loneSurrogate(message.content()));
                }
            }
            case Prompt.Tokens ids -> assertTrue(ids.ids().length > 0);
        }
    }
}
