package dev.baton.bench.serve.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A point's summary from constructed records: every figure exact. */
@Timeout(10)
class SummarizerTest {

    static RequestRecord ok(double ttft, double tpot, double e2e, int out, double[] itl, int prompt, int cached, Slo slo) {
        return new RequestRecord(0, "t", "p", 0, 0, 0, true, null, null, 200, prompt, prompt, out, 11, out, cached, ttft, tpot, e2e,
                itl, slo.meets(true, ttft, tpot, e2e));
    }

    static RequestRecord failed(String kind) {
        return new RequestRecord(0, "t", "p", 0, 0, 0, false, kind, "x", 500, 10, -1, 0, 11, 0, -1, Double.NaN, Double.NaN, 5,
                new double[0], false);
    }

    @Test
    void shouldComputeThroughputGoodputAndErrorsExactly() {
        Slo slo = Slo.parse("ttft=200ms,tpot=50ms");
        List<RequestRecord> records = List.of(
                ok(100, 40, 500, 11, new double[] {40, 40}, 100, 50, slo),   // meets both
                ok(300, 40, 700, 11, new double[] {30, 50}, 100, 0, slo),    // TTFT too long
                ok(150, 60, 750, 11, new double[] {60}, 200, -1, slo),       // TPOT too long
                ok(200, Double.NaN, 200, 1, new double[0], 50, -1, slo),     // one token: meets
                failed("http_500"), failed("http_500"), failed("truncated"));
        PointSummary s = Summarizer.summarize("t", "rate=1/s", 1, records, 4.0, 2, slo);
        assertEquals(7, s.requests());
        assertEquals(4, s.completed());
        assertEquals(3, s.failed());
        assertEquals(Map.of("http_500", 2, "truncated", 1), s.errors());
        assertEquals(1, s.shortOutputs(), "the one-token answer to max_tokens 11");
        assertEquals(1.0, s.requestsPerSecond(), 0);
        assertEquals(34 / 4.0, s.outputTokensPerSecond(), 0);
        assertEquals((34 + 450) / 4.0, s.totalTokensPerSecond(), 0);
        assertEquals(2 / 4.0, s.goodput(), 0);
        assertEquals(2 / 7.0, s.sloAttainment(), 0);
        assertEquals(34 / 4.0 / 2, s.outputTokensPerSecondPerNode(), 0);
        assertEquals(50, s.cachedTokens());
        assertEquals(50 / 200.0, s.cachedShare(), 0);
        // Latencies over the 4 completed requests only; ITL pooled over all their gaps.
        assertEquals(4, s.ttftMs().count());
        assertEquals(187.5, s.ttftMs().mean(), 0);
        assertEquals(175.0, s.ttftMs().median(), 0);
        assertEquals(3, s.tpotMs().count());
        assertEquals(140 / 3.0, s.tpotMs().mean(), 1e-12);
        assertEquals(1000 / (140 / 3.0), s.tokensPerSecondPerUser(), 1e-9);
        assertEquals(5, s.itlMs().count());
        assertEquals(44.0, s.itlMs().mean(), 1e-12);
        assertEquals(40.0, s.itlMs().median(), 0);
        assertEquals(56.0, s.itlMs().p90(), 1e-12); // sorted 30 40 40 50 60, rank 3.6: 50 + 0.6 * 10
    }

    @Test
    void shouldLeaveGoodputUndefinedWithoutAnSlo() {
        PointSummary s = Summarizer.summarize("t", "p", 1, List.of(ok(1, 1, 1, 2, new double[] {1}, 1, -1, Slo.NONE)), 1.0, 1,
                Slo.NONE);
        assertTrue(Double.isNaN(s.goodput()));
        assertEquals(1.0, s.sloAttainment(), 0);
        assertTrue(Double.isNaN(s.cachedShare()));
    }
}
