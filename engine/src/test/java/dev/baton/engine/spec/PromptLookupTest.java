package dev.baton.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.engine.EngineException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PromptLookupTest {

    private static int[] draft(PromptLookup p, int[] tokens, int max) {
        int[] out = new int[max];
        int n = p.draft(tokens, tokens.length, out, max);
        return Arrays.copyOf(out, n);
    }

    @Test
    void shouldProposeWhatFollowedTheLatestEarlierOccurrenceOfTheLastNgram() {
        int[] t = {1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 6, 2, 3};
        assertArrayEquals(new int[] {7, 8, 6}, draft(new PromptLookup(2, 3), t, 3)); // "2 3" last seen before "7 8 6"
    }

    @Test
    void shouldPreferTheLongestMatchingNgram() {
        int[] t = {4, 2, 3, 5, 5, 1, 2, 3, 9, 9, 1, 2, 3};
        assertArrayEquals(new int[] {9, 9}, draft(new PromptLookup(1, 3), t, 2)); // "1 2 3" beats the later "2 3"
        assertArrayEquals(new int[] {9, 9, 1}, draft(new PromptLookup(1, 2), t, 3));
    }

    @Test
    void shouldStopAtTheEndOfTheSequenceAndAtMax() {
        int[] t = {5, 6, 7, 5, 6};
        assertArrayEquals(new int[] {7, 5, 6}, draft(new PromptLookup(2, 2), t, 8));
        assertArrayEquals(new int[] {7}, draft(new PromptLookup(2, 2), t, 1));
    }

    @Test
    void shouldProposeNothingWithoutAMatch() {
        assertEquals(0, draft(new PromptLookup(2, 4), new int[] {1, 2, 3, 4, 5, 6}, 4).length);
        assertEquals(0, draft(new PromptLookup(1, 1), new int[] {7}, 4).length);
        assertEquals(0, draft(new PromptLookup(3, 3), new int[] {1, 1}, 4).length);
    }

    @Test
    void shouldReadAndCheckItsSettings() {
        var conf = ConfigFactory.parseString("baton.engine.speculation { mode = off, draft-tokens = 6, ngram-min = 1, "
                + "ngram-max = 2 }").withFallback(ConfigFactory.defaultReference());
        SpeculationSettings s = SpeculationSettings.from(conf);
        assertEquals(new SpeculationSettings(SpeculationSettings.Mode.OFF, 6, 1, 2, null, 64L << 20), s);
        assertEquals(null, s.newDrafter(null));
        EngineException bad = assertThrows(EngineException.class, () -> SpeculationSettings.from(ConfigFactory.parseString(
                "baton.engine.speculation { mode = ngram, draft-tokens = 6, ngram-min = 1, ngram-max = 2 }")
                .withFallback(ConfigFactory.defaultReference())));
        assertTrue(bad.getMessage().contains("baton.engine.speculation.mode"), bad.getMessage());
        EngineException big = assertThrows(EngineException.class, () -> SpeculationSettings.promptLookup(33, 1, 2));
        assertTrue(big.getMessage().contains("draft-tokens"), big.getMessage());
        SpeculationSettings defaults = SpeculationSettings.from(ConfigFactory.load());
        assertEquals(SpeculationSettings.defaults(), defaults, "reference.conf and defaults() agree");
    }
}
