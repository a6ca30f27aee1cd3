package dev.baton.router.api.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.router.api.openai.CompletionRequest.Kind;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The router's limits on fields ({@code baton.router.limits}) as the parser applies them: a value at a
 * limit is taken, one over it refused with a 400 naming the field, the limit's key and its value, and the
 * defaults ({@link RequestLimits#ENGINE}) are the engine's own limits.
 */
@Timeout(10)
class RequestParserLimitsTest {

    static final RequestLimits TIGHT = new RequestLimits(0, 100, 2, 5, 3);

    static CompletionRequest parse(String body, Kind kind, RequestLimits limits) {
        return RequestParser.parse(body, kind, limits);
    }

    static ApiError refusal(String body, Kind kind, RequestLimits limits) {
        return assertThrows(ApiException.class, () -> RequestParser.parse(body, kind, limits)).error();
    }

    static void assertRefused(ApiError e, String param, String... inMessage) {
        assertEquals(400, e.status(), e.toString());
        assertEquals(param, e.param(), e.toString());
        for (String s : inMessage) {
            assertTrue(e.message().contains(s), e.message());
        }
    }

    static String stops(int count, int chars) {
        return "[" + String.join(",", Collections.nCopies(count, "\"" + "s".repeat(chars) + "\"")) + "]";
    }

    @Test
    void shouldRefuseMaxTokensOverTheLimitAndTakeItAtTheLimit() {
        assertEquals(100, parse("{\"prompt\": \"x\", \"max_tokens\": 100}", Kind.COMPLETION, TIGHT).maxTokens().getAsInt());
        assertRefused(refusal("{\"prompt\": \"x\", \"max_tokens\": 101}", Kind.COMPLETION, TIGHT), "max_tokens",
                "max_tokens = 101", "limit of 100 tokens (max-tokens)");
        assertRefused(refusal("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_completion_tokens\": 101}",
                Kind.CHAT, TIGHT), "max_completion_tokens", "max_completion_tokens = 101", "limit of 100");
    }

    @Test
    void shouldLeaveMaxTokensToTheContextByDefault() {
        assertEquals(1_000_000, parse("{\"prompt\": \"x\", \"max_tokens\": 1000000}", Kind.COMPLETION,
                RequestLimits.ENGINE).maxTokens().getAsInt(), "the preparer fits it to the model's context");
    }

    @Test
    void shouldRefuseMoreStopStringsThanTheLimit() {
        assertEquals(2, parse("{\"prompt\": \"x\", \"stop\": " + stops(2, 5) + "}", Kind.COMPLETION, TIGHT).sampling()
                .stopStrings().size());
        assertRefused(refusal("{\"prompt\": \"x\", \"stop\": " + stops(3, 1) + "}", Kind.COMPLETION, TIGHT), "stop",
                "stop has 3 strings", "limit of 2 (max-stop-strings)");
    }

    @Test
    void shouldRefuseALongerStopStringThanTheLimit() {
        assertRefused(refusal("{\"prompt\": \"x\", \"stop\": \"abcdef\"}", Kind.COMPLETION, TIGHT), "stop",
                "6 characters", "limit of 5 (max-stop-string-chars)");
        assertRefused(refusal("{\"prompt\": \"x\", \"stop\": [\"ab\", \"abcdef\"]}", Kind.COMPLETION, TIGHT), "stop",
                "stop string 1 has 6 characters");
    }

    @Test
    void shouldRefuseAnyStopStringWhenTheLimitIsZero() {
        RequestLimits none = new RequestLimits(0, 0, 0, 5, 3);
        assertRefused(refusal("{\"prompt\": \"x\", \"stop\": \"a\"}", Kind.COMPLETION, none), "stop",
                "limit of 0 (max-stop-strings)");
        assertEquals(List.of(), parse("{\"prompt\": \"x\", \"stop\": []}", Kind.COMPLETION, none).sampling().stopStrings());
    }

    @Test
    void shouldTakeTheEnginesStopLimitsByDefault() {
        assertEquals(16, parse("{\"prompt\": \"x\", \"stop\": " + stops(16, 256) + "}", Kind.COMPLETION,
                RequestLimits.ENGINE).sampling().stopStrings().size());
        assertRefused(refusal("{\"prompt\": \"x\", \"stop\": " + stops(17, 1) + "}", Kind.COMPLETION,
                RequestLimits.ENGINE), "stop", "limit of 16 (max-stop-strings)");
        assertRefused(refusal("{\"prompt\": \"x\", \"stop\": " + stops(1, 257) + "}", Kind.COMPLETION,
                RequestLimits.ENGINE), "stop", "limit of 256 (max-stop-string-chars)");
    }

    @Test
    void shouldRefuseLogprobsOverTheLimitWithTheFieldOfEachEndpoint() {
        assertEquals(3, parse("{\"prompt\": \"x\", \"logprobs\": 3}", Kind.COMPLETION, TIGHT).sampling().logprobs()
                .getAsInt());
        assertRefused(refusal("{\"prompt\": \"x\", \"logprobs\": 4}", Kind.COMPLETION, TIGHT), "logprobs",
                "logprobs = 4", "limit of 3 (max-logprobs)");
        String chat = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"logprobs\": true, \"top_logprobs\": ";
        assertEquals(3, parse(chat + "3}", Kind.CHAT, TIGHT).sampling().logprobs().getAsInt());
        assertRefused(refusal(chat + "4}", Kind.CHAT, TIGHT), "top_logprobs", "top_logprobs = 4", "limit of 3");
        assertRefused(refusal(chat + "-1}", Kind.CHAT, TIGHT), "top_logprobs", "at least 0");
    }

    @Test
    void shouldTakeTheEnginesLogprobsLimitByDefault() {
        assertEquals(20, parse("{\"prompt\": \"x\", \"logprobs\": 20}", Kind.COMPLETION, RequestLimits.ENGINE)
                .sampling().logprobs().getAsInt());
        assertRefused(refusal("{\"prompt\": \"x\", \"logprobs\": 21}", Kind.COMPLETION, RequestLimits.ENGINE),
                "logprobs", "limit of 20 (max-logprobs)");
    }

    @Test
    void shouldRefuseNOtherThanOneSayingWhatToDo() {
        assertEquals("x", ((CompletionRequest.Prompt.Text) parse("{\"prompt\": \"x\", \"n\": 1, \"best_of\": 1}",
                Kind.COMPLETION, TIGHT).prompt()).text());
        assertRefused(refusal("{\"prompt\": \"x\", \"n\": 3}", Kind.COMPLETION, TIGHT), "n",
                "n = 3 is not supported", "one choice per request (n = 1 only)", "send 3 requests instead");
        assertRefused(refusal("{\"prompt\": \"x\", \"n\": 0}", Kind.COMPLETION, TIGHT), "n", "n = 0", "(n = 1 only)");
        assertRefused(refusal("{\"prompt\": \"x\", \"best_of\": 2}", Kind.COMPLETION, TIGHT), "best_of",
                "best_of = 2", "(best_of = 1 only)");
    }
}
