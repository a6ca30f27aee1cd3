package dev.baton.bench.serve.overload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.baton.bench.serve.metrics.RequestRecord;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PhaseStatsTest {

    /** A completed request: 200, {@code out} output tokens of a {@code prompt}-token prompt, within the SLO or not. */
    static RequestRecord served(int prompt, int out, boolean meetsSlo) {
        return new RequestRecord(0, "t", "p", 0, 0, 0, true, null, null, 200, prompt, prompt, out, out, out, -1, 100, 10,
                200, new double[0], meetsSlo, null);
    }

    /** A refusal answered after {@code ms}, with a Retry-After or not. */
    static RequestRecord refused(int status, double ms, String retryAfter) {
        return new RequestRecord(0, "t", "p", 0, 0, 0, false, "http_" + status, "busy", status, 100, -1, 0, 16, 0, -1, Double.NaN,
                Double.NaN, ms, new double[0], false, retryAfter);
    }

    static RequestRecord failed(String error, int status) {
        return new RequestRecord(0, "t", "p", 0, 0, 0, false, error, "x", status, 100, -1, 0, 16, 0, -1, Double.NaN, Double.NaN,
                5000, new double[0], false, null);
    }

    @Test
    void shouldCountGoodputOfAdmittedRequestsWithinTheSloOnly() {
        PhaseStats s = PhaseStats.of("overload", "rate=20/s", List.of(served(100, 16, true), served(100, 16, true),
                served(100, 16, false), refused(503, 3, "1")), 4, 8);
        assertEquals(3, s.admitted());
        assertEquals(3, s.completed());
        assertEquals(2 / 8.0, s.goodputPerSecond(), 1e-12);
        assertEquals(3 / 8.0, s.completedPerSecond(), 1e-12);
        assertEquals(32 / 8.0, s.goodputTokensPerSecond(), 1e-12);
        assertEquals(300, s.admittedPromptTokens());
        assertEquals(1.0, s.offeredPerSecond(), 1e-12, "4 requests over a 4 s window");
    }

    @Test
    void shouldSplitRefusalsByStatusAndRetryAfter() {
        PhaseStats s = PhaseStats.of("overload", "rate=20/s", List.of(refused(503, 2, "3"), refused(503, 4, null),
                refused(429, 6, "1"), refused(429, 8, " ")), 1, 1);
        assertEquals(Map.of(429, 2, 503, 2), s.refusedByStatus());
        assertEquals(Map.of(429, 1, 503, 1), s.refusedWithRetryAfter(), "a blank Retry-After is none");
        assertEquals(4, s.refused());
        assertEquals(2, s.refusedWithoutRetryAfter());
        assertEquals(5, s.refusalMs().median(), 1e-12);
        assertEquals(8, s.refusalMs().max(), 1e-12);
        assertEquals(0, s.admitted());
        assertEquals(0, s.goodputPerSecond(), 0);
    }

    @Test
    void shouldCountOtherStatusesAndMissingAnswersApartFromFailuresAfterAdmission() {
        PhaseStats s = PhaseStats.of("capacity", "rate=2/s", List.of(failed("http_500", 500), failed("io", 0),
                failed("timeout", 0), failed("stream_error", 200), served(10, 4, true)), 1, 1);
        assertEquals(Map.of("http_500", 1, "io", 1, "timeout", 1), s.other());
        assertEquals(3, s.otherFailures());
        assertEquals(Map.of("stream_error", 1), s.failedAfterAdmission());
        assertEquals(2, s.admitted(), "a 200 whose stream then failed was admitted");
        assertEquals(1, s.completed());
        assertEquals(0, s.refused());
        assertEquals(110, s.admittedPromptTokens(), "a failed admitted request counts its expected prompt");
    }

    @Test
    void shouldRefuseANonPositiveWindow() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PhaseStats.of("overload", "rate=1/s", List.of(), 0, 1));
        assertEquals(true, e.getMessage().contains("arrival window"), e.getMessage());
    }
}
