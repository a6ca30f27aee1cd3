package dev.baton.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

    private static final int VOCAB = 512;
    private static final int CONTEXT = 2048;

    @Test
    void shouldDefaultToOpenAiValues() {
        SamplingParams p = SamplingParams.defaults();
        assertEquals(1f, p.temperature());
        assertEquals(-1, p.topK());
        assertEquals(1f, p.topP());
        assertEquals(0f, p.minP());
        assertEquals(OptionalLong.empty(), p.seed());
        assertEquals(1f, p.repetitionPenalty());
        assertEquals(0f, p.frequencyPenalty());
        assertEquals(0f, p.presencePenalty());
        assertEquals(16, p.maxTokens());
        assertEquals(OptionalInt.empty(), p.logprobs());
        assertFalse(p.ignoreEos());
        assertFalse(p.isGreedy());
        assertFalse(p.hasPenalties());
        assertSame(p, p.validate(VOCAB, CONTEXT));
    }

    @Test
    void shouldMakeGreedyTemperatureZero() {
        assertTrue(SamplingParams.greedy().isGreedy());
        assertEquals(0f, SamplingParams.greedy().temperature());
    }

    @Test
    void shouldAcceptTheEdgesOfEveryRange() {
        SamplingParams.builder().temperature(2).topK(1).topP(1).minP(1).repetitionPenalty(2).frequencyPenalty(-2)
                .presencePenalty(2).maxTokens(CONTEXT).stopTokenIds(List.of(0, VOCAB - 1)).stopStrings(List.of("x"))
                .logprobs(20).seed(Long.MIN_VALUE).build().validate(VOCAB, CONTEXT);
        SamplingParams.builder().temperature(0).topP(Float.MIN_VALUE).minP(0).repetitionPenalty(Float.MIN_VALUE)
                .frequencyPenalty(2).presencePenalty(-2).maxTokens(1).logprobs(0).build().validate(VOCAB, CONTEXT);
    }

    @Test
    void shouldNameTemperatureItsValueAndRange() {
        assertInvalid(b -> b.temperature(2.5f), "temperature", "temperature must be in [0, 2], got 2.5");
        assertInvalid(b -> b.temperature(-0.1f), "temperature", "temperature must be in [0, 2], got -0.1");
        assertInvalid(b -> b.temperature(Float.NaN), "temperature", "temperature must be in [0, 2], got NaN");
    }

    @Test
    void shouldNameTopK() {
        assertInvalid(b -> b.topK(0), "top_k", "top_k must be in -1 (disabled) or an integer >= 1, got 0");
        assertInvalid(b -> b.topK(-2), "top_k", "top_k must be in -1 (disabled) or an integer >= 1, got -2");
    }

    @Test
    void shouldNameTopPAndMinP() {
        assertInvalid(b -> b.topP(0), "top_p", "top_p must be in (0, 1], got 0.0");
        assertInvalid(b -> b.topP(1.01f), "top_p", "top_p must be in (0, 1], got 1.01");
        assertInvalid(b -> b.minP(-0.5f), "min_p", "min_p must be in [0, 1], got -0.5");
        assertInvalid(b -> b.minP(1.5f), "min_p", "min_p must be in [0, 1], got 1.5");
    }

    @Test
    void shouldNameThePenalties() {
        assertInvalid(b -> b.repetitionPenalty(0), "repetition_penalty", "repetition_penalty must be in (0, 2], got 0.0");
        assertInvalid(b -> b.repetitionPenalty(2.5f), "repetition_penalty", "repetition_penalty must be in (0, 2], got 2.5");
        assertInvalid(b -> b.frequencyPenalty(-2.5f), "frequency_penalty", "frequency_penalty must be in [-2, 2], got -2.5");
        assertInvalid(b -> b.presencePenalty(3), "presence_penalty", "presence_penalty must be in [-2, 2], got 3.0");
    }

    @Test
    void shouldNameMaxTokensWithTheContextLength() {
        assertInvalid(b -> b.maxTokens(0), "max_tokens", "max_tokens must be in [1, 2048] (the model's context length), got 0");
        assertInvalid(b -> b.maxTokens(4096), "max_tokens", "max_tokens must be in [1, 2048] (the model's context length), got 4096");
    }

    @Test
    void shouldNameStopTokenIdsOutsideTheVocabulary() {
        assertInvalid(b -> b.stopTokenIds(List.of(3, 512)), "stop_token_ids", "stop_token_ids must be in token ids in [0, 511], got 512");
        assertInvalid(b -> b.stopTokenIds(List.of(-1)), "stop_token_ids", "stop_token_ids must be in token ids in [0, 511], got -1");
    }

    @Test
    void shouldNameBadStopStrings() {
        assertInvalid(b -> b.stopStrings(List.of("ok", "")), "stop", "stop string \"\" has 0 characters; allowed: 1 to 256");
        assertInvalid(b -> b.stopStrings(Collections.nCopies(17, "x")), "stop", "stop has 17 strings; allowed: at most 16");
    }

    @Test
    void shouldNameLogprobsOutOfRange() {
        assertInvalid(b -> b.logprobs(21), "logprobs", "logprobs must be in [0, 20], got 21");
        assertInvalid(b -> b.logprobs(-1), "logprobs", "logprobs must be in [0, 20], got -1");
    }

    @Test
    void shouldCopyListsSoLaterChangesDoNotLeakIn() {
        List<String> stops = new java.util.ArrayList<>(List.of("a"));
        SamplingParams p = SamplingParams.builder().stopStrings(stops).build();
        stops.add("b");
        assertEquals(List.of("a"), p.stopStrings());
        assertEquals(p, p.toBuilder().build());
    }

    private static void assertInvalid(UnaryOperator<SamplingParams.Builder> change, String param, String message) {
        SamplingParams p = change.apply(SamplingParams.builder()).build();
        InvalidSamplingParamsException e = assertThrows(InvalidSamplingParamsException.class, () -> p.validate(VOCAB, CONTEXT));
        assertEquals(message, e.getMessage());
        assertEquals(param, e.param());
    }
}
