package dev.baton.bench.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.bench.chaos.StreamCheck.Kind;
import org.junit.jupiter.api.Test;

class StreamCheckTest {

    static final String TEXT = "Once upon a time there was a little fox.";

    @Test
    void shouldAcceptTheUndisturbedText() {
        assertEquals(new StreamCheck(Kind.IDENTICAL, -1, 0), StreamCheck.of(TEXT, TEXT, true));
        assertEquals(Kind.IDENTICAL, StreamCheck.of(TEXT, TEXT, false).kind(), "a failure after the last chunk loses nothing");
    }

    @Test
    void shouldCountAFailedStreamWithACleanPrefixAsAFailureNotACorruption() {
        StreamCheck c = StreamCheck.of(TEXT, "Once upon a ti", false);
        assertEquals(Kind.PREFIX, c.kind());
        assertFalse(c.kind().corrupt());
        assertEquals(Kind.PREFIX, StreamCheck.of(TEXT, "", false).kind());
    }

    @Test
    void shouldFindTextMissingInTheMiddleOfACompleteStream() {
        // "there " left out after "time "
        assertEquals(new StreamCheck(Kind.GAP, 17, 6), StreamCheck.of(TEXT, "Once upon a time was a little fox.", true));
    }

    @Test
    void shouldFindTextMissingAtTheEndOfAStreamThatClaimsToBeComplete() {
        assertEquals(new StreamCheck(Kind.GAP, 16, TEXT.length() - 16), StreamCheck.of(TEXT, "Once upon a time", true));
    }

    @Test
    void shouldFindTextSentTwice() {
        // "upon a " again after "upon a time ": the stream resumed from an earlier point
        StreamCheck c = StreamCheck.of(TEXT, "Once upon a time upon a time there was a little fox.", true);
        assertEquals(Kind.REPEAT, c.kind());
        assertEquals(17, c.at());
        assertEquals(12, c.chars());
        assertTrue(c.kind().corrupt());
    }

    @Test
    void shouldFindGapsAndRepeatsInAFailedStreamToo() {
        assertEquals(new StreamCheck(Kind.GAP, 17, 6), StreamCheck.of(TEXT, "Once upon a time was a", false));
        // "time " again: the first difference is at 18 ("time t|ime" against "time t|here"), 5 characters back
        assertEquals(new StreamCheck(Kind.REPEAT, 18, 5), StreamCheck.of(TEXT, "Once upon a time time there", false));
    }

    @Test
    void shouldCallOtherWrongTextDifferent() {
        StreamCheck c = StreamCheck.of(TEXT, "Once upon a time there was a big bear.", true);
        assertEquals(Kind.DIFFERENT, c.kind());
        assertEquals(29, c.at());
        assertTrue(c.kind().corrupt());
        assertEquals(Kind.DIFFERENT, StreamCheck.of(TEXT, "Twice", false).kind());
        assertEquals(Kind.DIFFERENT, StreamCheck.of(TEXT, TEXT + " The end.", true).kind(), "text past the end is wrong");
    }
}
