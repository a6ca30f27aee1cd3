package dev.baton.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopCheckerTest {

    private static final int EOS = 509;

    private final StringBuilder out = new StringBuilder();

    @Test
    void shouldStopAtEosWithoutEmittingItsText() {
        StopChecker c = new StopChecker(SamplingParams.defaults(), EOS);
        assertFalse(c.onToken(10, "Hi", out));
        assertTrue(c.onToken(EOS, "<|end_of_text|>", out));
        assertEquals("Hi", out.toString());
        assertEquals(FinishReason.STOP, c.finishReason());
        assertEquals(EOS, c.matchedStopToken());
        assertNull(c.matchedStopString());
    }

    @Test
    void shouldIgnoreEosWhenAsked() {
        StopChecker c = new StopChecker(SamplingParams.builder().ignoreEos(true).build(), EOS);
        assertFalse(c.onToken(EOS, "<|end_of_text|>", out));
        assertEquals("<|end_of_text|>", out.toString());
    }

    @Test
    void shouldStopAtAStopTokenIdEvenWithIgnoreEos() {
        StopChecker c = new StopChecker(SamplingParams.builder().ignoreEos(true).stopTokenIds(List.of(511)).build(), EOS);
        assertTrue(c.onToken(511, "<|im_end|>", out));
        assertEquals("", out.toString());
        assertEquals(511, c.matchedStopToken());
    }

    @Test
    void shouldCutTextBeforeAStopStringInsideOnePiece() {
        StopChecker c = new StopChecker(stops("world"), EOS);
        assertFalse(c.onToken(1, "Hello ", out));
        assertTrue(c.onToken(2, "worldly!", out));
        assertEquals("Hello ", out.toString());
        assertEquals(FinishReason.STOP, c.finishReason());
        assertEquals("world", c.matchedStopString());
    }

    @Test
    void shouldHoldBackAPossibleStartOfAStopStringAndReleaseItWhenItIsNot() {
        StopChecker c = new StopChecker(stops("<|end|>"), EOS);
        c.onToken(1, "ab<", out);
        assertEquals("ab", out.toString());
        assertEquals(1, c.heldBackChars());
        c.onToken(2, "|e", out);
        assertEquals("ab", out.toString());
        assertEquals(3, c.heldBackChars());
        c.onToken(3, "x", out);
        assertEquals("ab<|ex", out.toString());
        assertEquals(0, c.heldBackChars());
    }

    @Test
    void shouldNeverEmitAStopStringSpreadOverSeveralTokens() {
        StopChecker c = new StopChecker(stops("<|end|>"), EOS);
        assertFalse(c.onToken(1, "done<|", out));
        assertFalse(c.onToken(2, "en", out));
        assertTrue(c.onToken(3, "d|> trailing", out));
        assertEquals("done", out.toString());
        assertEquals("<|end|>", c.matchedStopString());
    }

    @Test
    void shouldStopAtTheEarliestOfSeveralStopStrings() {
        StopChecker c = new StopChecker(stops("cat", "a c"), EOS);
        assertTrue(c.onToken(1, "a cat", out));
        assertEquals("", out.toString());
        assertEquals("a c", c.matchedStopString());
    }

    @Test
    void shouldFinishWithLengthAtMaxTokensReleasingHeldText() {
        StopChecker c = new StopChecker(SamplingParams.builder().maxTokens(3).stopStrings(List.of("xyz")).build(), EOS);
        assertFalse(c.onToken(1, "a", out));
        assertFalse(c.onToken(2, "b", out));
        assertTrue(c.onToken(3, "x", out));
        assertEquals("abx", out.toString());
        assertEquals(FinishReason.LENGTH, c.finishReason());
        assertEquals("length", c.finishReason().wireName());
    }

    @Test
    void shouldPreferStopOverLengthOnTheLastToken() {
        StopChecker c = new StopChecker(SamplingParams.builder().maxTokens(1).build(), EOS);
        assertTrue(c.onToken(EOS, "", out));
        assertEquals(FinishReason.STOP, c.finishReason());
    }

    @Test
    void shouldCountStopTokensTowardsMaxTokens() {
        StopChecker c = new StopChecker(SamplingParams.builder().maxTokens(2).ignoreEos(true).build(), EOS);
        c.onToken(EOS, "", out);
        assertTrue(c.onToken(5, "x", out));
        assertEquals(FinishReason.LENGTH, c.finishReason());
        assertEquals(2, c.generatedCount());
    }

    @Test
    void shouldRefuseTokensAfterFinishing() {
        StopChecker c = new StopChecker(SamplingParams.defaults(), EOS);
        c.onToken(EOS, "", out);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.onToken(1, "x", out));
        assertEquals("sequence already finished (stop)", e.getMessage());
    }

    @Test
    void shouldFlushHeldTextOnRequest() {
        StopChecker c = new StopChecker(stops("###"), EOS);
        c.onToken(1, "a##", out);
        assertEquals("a", out.toString());
        c.flush(out);
        assertEquals("a##", out.toString());
    }

    private static SamplingParams stops(String... s) {
        return SamplingParams.builder().maxTokens(100).stopStrings(List.of(s)).build();
    }
}
