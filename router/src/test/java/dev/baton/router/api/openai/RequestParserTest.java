package dev.baton.router.api.openai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.chat.ChatMessage;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.CompletionRequest.Prompt;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RequestParserTest {

    static CompletionRequest completion(String body) {
        return RequestParser.parse(body, Kind.COMPLETION);
    }

    static ApiError refusal(String body, Kind kind) {
        return assertThrows(ApiException.class, () -> RequestParser.parse(body, kind)).error();
    }

    @Test
    void shouldAcceptEveryPromptShape() {
        assertEquals(new Prompt.Text("hi"), completion("{\"prompt\": \"hi\"}").prompt());
        assertEquals(new Prompt.Text("hi"), completion("{\"prompt\": [\"hi\"]}").prompt());
        assertArrayEquals(new int[] {1, 2}, ((Prompt.Tokens) completion("{\"prompt\": [1, 2]}").prompt()).ids());
        assertArrayEquals(new int[] {3}, ((Prompt.Tokens) completion("{\"prompt\": [[3]]}").prompt()).ids());
    }

    @Test
    void shouldReadSamplingFieldsWithOpenAiNames() {
        CompletionRequest r = completion("""
                {"prompt": "x", "model": "m", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 0,
                 "min_p": 0.1, "seed": 12345678901, "stop": "END", "presence_penalty": 0.5, "frequency_penalty": -0.5,
                 "repetition_penalty": 1.1, "logprobs": 2, "n": 1, "ignore_eos": true, "user": "u",
                 "stream": true, "stream_options": {"include_usage": true}, "stop_token_ids": [7]}""");
        assertEquals("m", r.model());
        assertEquals(7, r.maxTokens().getAsInt());
        assertEquals(0.5f, r.sampling().temperature());
        assertEquals(0.9f, r.sampling().topP());
        assertEquals(-1, r.sampling().topK(), "top_k 0 means all tokens, as in vLLM");
        assertEquals(0.1f, r.sampling().minP());
        assertEquals(12345678901L, r.sampling().seed().getAsLong());
        assertEquals(List.of("END"), r.sampling().stopStrings());
        assertEquals(List.of(7), r.sampling().stopTokenIds());
        assertEquals(0.5f, r.sampling().presencePenalty());
        assertEquals(-0.5f, r.sampling().frequencyPenalty());
        assertEquals(1.1f, r.sampling().repetitionPenalty());
        assertEquals(2, r.sampling().logprobs().getAsInt());
        assertTrue(r.sampling().ignoreEos());
        assertTrue(r.stream() && r.includeUsage());
    }

    @Test
    void shouldPreferMaxCompletionTokensForChat() {
        CompletionRequest r = RequestParser.parse("""
                {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                              {"role": "assistant", "content": null}],
                 "max_tokens": 5, "max_completion_tokens": 9, "logprobs": true, "top_logprobs": 3}""", Kind.CHAT);
        assertEquals(9, r.maxTokens().getAsInt());
        assertEquals("max_completion_tokens", r.maxTokensParam());
        assertEquals(List.of(new ChatMessage("user", "ab"), new ChatMessage("assistant", "")),
                ((Prompt.Messages) r.prompt()).messages());
        assertEquals(3, r.sampling().logprobs().getAsInt());
    }

    @Test
    void shouldNameTheFieldOfEveryTypeError() {
        assertEquals("temperature", refusal("{\"prompt\": \"x\", \"temperature\": \"hot\"}", Kind.COMPLETION).param());
        assertEquals("max_tokens", refusal("{\"prompt\": \"x\", \"max_tokens\": 1.5}", Kind.COMPLETION).param());
        assertEquals("max_tokens", refusal("{\"prompt\": \"x\", \"max_tokens\": 99999999999}", Kind.COMPLETION).param());
        assertEquals("seed", refusal("{\"prompt\": \"x\", \"seed\": \"1\"}", Kind.COMPLETION).param());
        assertEquals("stop", refusal("{\"prompt\": \"x\", \"stop\": [1]}", Kind.COMPLETION).param());
        assertEquals("prompt", refusal("{\"prompt\": [1, \"a\"]}", Kind.COMPLETION).param());
        assertEquals("prompt", refusal("{\"prompt\": []}", Kind.COMPLETION).param());
        assertEquals("stream_options.include_usage",
                refusal("{\"prompt\": \"x\", \"stream_options\": {\"include_usage\": 1}}", Kind.COMPLETION).param());
        assertEquals("messages[0].content", refusal(
                "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", Kind.CHAT).param());
        assertEquals("top_logprobs", refusal(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_logprobs\": 2}", Kind.CHAT).param());
    }

    @Test
    void shouldReadTheCacheSaltAndRefuseABadOne() {
        assertEquals("", completion("{\"prompt\": \"x\"}").cacheSalt());
        assertEquals("tenant-a", completion("{\"prompt\": \"x\", \"cache_salt\": \"tenant-a\"}").cacheSalt());
        assertEquals("cache_salt", refusal("{\"prompt\": \"x\", \"cache_salt\": 1}", Kind.COMPLETION).param());
        String tooLong = "s".repeat(RequestParser.MAX_CACHE_SALT_CHARS + 1);
        ApiError e = refusal("{\"prompt\": \"x\", \"cache_salt\": \"" + tooLong + "\"}", Kind.COMPLETION);
        assertEquals("cache_salt", e.param());
        assertTrue(e.message().contains("at most " + RequestParser.MAX_CACHE_SALT_CHARS), e.message());
    }

    @Test
    void shouldReadTheSessionFromUserAndRefuseAnOverlongOne() {
        assertEquals(null, completion("{\"prompt\": \"x\"}").session());
        assertEquals(null, completion("{\"prompt\": \"x\", \"user\": \"\"}").session());
        assertEquals("alice-chat-7", completion("{\"prompt\": \"x\", \"user\": \"alice-chat-7\"}").session());
        assertEquals("bob", completion("{\"prompt\": \"x\", \"user\": \"alice\"}").withSession("bob").session());
        assertEquals("user", refusal("{\"prompt\": \"x\", \"user\": 5}", Kind.COMPLETION).param());
        String tooLong = "u".repeat(RequestParser.MAX_SESSION_CHARS + 1);
        ApiError e = refusal("{\"prompt\": \"x\", \"user\": \"" + tooLong + "\"}", Kind.COMPLETION);
        assertEquals("user", e.param());
        assertTrue(e.message().contains("at most " + RequestParser.MAX_SESSION_CHARS), e.message());
    }

    @Test
    void shouldRefuseOptionsThatChangeTheAnswersMeaning() {
        assertEquals("n", refusal("{\"prompt\": \"x\", \"n\": 2}", Kind.COMPLETION).param());
        assertEquals("best_of", refusal("{\"prompt\": \"x\", \"best_of\": 3}", Kind.COMPLETION).param());
        assertEquals("echo", refusal("{\"prompt\": \"x\", \"echo\": true}", Kind.COMPLETION).param());
        assertFalse(completion("{\"prompt\": \"x\", \"n\": 1, \"echo\": false}").stream());
    }

    @Test
    void shouldRefuseInvalidJsonAsA400WithoutParam() {
        for (String body : new String[] {"", "{", "{\"prompt\": \"x\"} trailing", "{\"prompt\": \"a\", \"prompt\": \"b\"}"}) {
            ApiError e = refusal(body, Kind.COMPLETION);
            assertEquals(400, e.status(), body);
            assertNull(e.param(), body);
            assertEquals("invalid_json", e.code(), body);
        }
        assertEquals(400, refusal("\"just a string\"", Kind.COMPLETION).status());
    }
}
