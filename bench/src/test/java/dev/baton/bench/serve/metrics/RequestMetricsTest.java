package dev.baton.bench.serve.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The per-request definitions on constructed time stamps: exact. */
@Timeout(10)
class RequestMetricsTest {

    static final long MS = 1_000_000L;

    /** Sent at 1000 ms; chunks at 1100, 1130, 1160, 1200 ms; stream ends at 1210 ms. */
    static RequestResult fourChunks(Usage usage) {
        return new RequestResult(1000 * MS, 1210 * MS, new long[] {1100 * MS, 1130 * MS, 1160 * MS, 1200 * MS}, " a b c d",
                usage, null, 200, null);
    }

    @Test
    void shouldMeasureTtftFromSendToFirstContentChunk() {
        assertEquals(100.0, RequestMetrics.ttftMs(1000 * MS, fourChunks(null).contentNs()), 0);
        assertTrue(Double.isNaN(RequestMetrics.ttftMs(0, new long[0])));
    }

    @Test
    void shouldMeasureOneItlPerGapBetweenContentChunks() {
        assertArrayEquals(new double[] {30, 30, 40}, RequestMetrics.itlMs(fourChunks(null).contentNs()), 0);
        assertEquals(0, RequestMetrics.itlMs(new long[] {5}).length);
    }

    @Test
    void shouldTakeOutputTokensFromUsageElseChunks() {
        assertEquals(4, RequestMetrics.outputTokens(null, 4));
        assertEquals(7, RequestMetrics.outputTokens(new Usage(12, 7, -1), 4));
        assertEquals(4, RequestMetrics.outputTokens(new Usage(12, -1, -1), 4));
    }

    @Test
    void shouldDivideDecodeTimeByTokensAfterTheFirst() {
        RequestRecord r = RequestRecord.of(0, "t", "p", 0, 0, 10, 8, 900 * MS, fourChunks(null), Slo.NONE);
        assertEquals(210.0, r.e2eMs(), 0);
        assertEquals(100.0, r.ttftMs(), 0);
        assertEquals(110.0 / 3, r.tpotMs(), 1e-12);
        assertEquals(100.0, r.sendMs(), 0);
        // The server says 8 tokens came in those 4 chunks: TPOT divides by 7.
        RequestRecord u = RequestRecord.of(0, "t", "p", 0, 0, 10, 8, 900 * MS, fourChunks(new Usage(12, 8, 4)), Slo.NONE);
        assertEquals(8, u.outputTokens());
        assertEquals(110.0 / 7, u.tpotMs(), 1e-12);
        assertEquals(12, u.promptTokens());
        assertEquals(4, u.cachedTokens());
        assertTrue(Double.isNaN(RequestMetrics.tpotMs(50, 40, 1)));
    }

    @Test
    void shouldLabelAFailureAndLeaveItOutsideTheSlo() {
        RequestResult failed = new RequestResult(0, 50 * MS, new long[0], "", null, ErrorKind.HTTP, 503, "busy");
        RequestRecord r = RequestRecord.of(3, "t", "p", 3, 0, -1, 8, 0, failed, Slo.parse("e2e=1s"));
        assertFalse(r.ok());
        assertEquals("http_503", r.error());
        assertFalse(r.meetsSlo());
        assertEquals("truncated", ErrorKind.TRUNCATED.key(200));
        RequestRecord ok = RequestRecord.of(0, "t", "p", 0, 0, 10, 8, 0, fourChunks(null), Slo.NONE);
        assertNull(ok.error());
        assertTrue(ok.meetsSlo());
    }
}
