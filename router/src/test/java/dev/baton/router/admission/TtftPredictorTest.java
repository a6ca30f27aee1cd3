package dev.baton.router.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TtftPredictorTest {

    private static final long MS = 1_000_000L;

    @Test
    void shouldNotPredictBeforeEnoughTokensWereMeasured() {
        TtftPredictor p = new TtftPredictor(1.0, 1000, 0);
        p.admitted(500, 0);
        p.computed(500, 500 * MS);
        assertTrue(Double.isNaN(p.tokensPerSecond(500 * MS)));
        assertEquals(-1, p.predictNanos(100, 500 * MS));
    }

    @Test
    void shouldMeasureTheSpeedOverTheTimeRequestsWaited() {
        TtftPredictor p = new TtftPredictor(1.0, 1000, 0);
        // two prompts of 1000 tokens queued at once, computed one after the other at 1000 tokens/s
        p.admitted(1000, 0);
        p.admitted(1000, 0);
        p.computed(1000, 1000 * MS);
        p.computed(1000, 2000 * MS);
        // idle for 10 s: not counted as busy
        p.admitted(1000, 12_000 * MS);
        p.computed(1000, 13_000 * MS);
        assertEquals(1000.0, p.tokensPerSecond(13_000 * MS), 1e-6);
    }

    @Test
    void shouldPredictQueuedTokensPlusThePromptOverTheSpeed() {
        TtftPredictor p = new TtftPredictor(1.0, 1000, 0);
        p.admitted(2000, 0);
        p.computed(2000, 1000 * MS); // 2000 tokens/s
        p.admitted(3000, 1000 * MS);
        p.admitted(1000, 1000 * MS);
        assertEquals(4000, p.queuedTokens());
        assertEquals(2500 * MS, p.predictNanos(1000, 1000 * MS)); // (4000 + 1000) / 2000
        assertEquals(1500 * MS, p.drainNanos(1000, 1000 * MS)); // until 1000 are left
    }

    @Test
    void shouldLetRequestsThatEndWithoutATokenLeaveTheQueueWithoutCountingAsSpeed() {
        TtftPredictor p = new TtftPredictor(1.0, 100, 0);
        p.admitted(100, 0);
        p.admitted(5000, 0);
        p.computed(100, 100 * MS);
        p.dropped(5000, 100 * MS);
        assertEquals(0, p.queuedTokens());
        assertEquals(1000.0, p.tokensPerSecond(100 * MS), 1e-6);
    }

    @Test
    void shouldFollowASlowerClusterWithDecay() {
        TtftPredictor p = new TtftPredictor(0.5, 100, 0);
        long t = 0;
        for (int i = 0; i < 20; i++) { // 1000 tokens/s
            p.admitted(100, t);
            t += 100 * MS;
            p.computed(100, t);
        }
        for (int i = 0; i < 20; i++) { // then 100 tokens/s
            p.admitted(100, t);
            t += 1000 * MS;
            p.computed(100, t);
        }
        assertEquals(100.0, p.tokensPerSecond(t), 1.0);
    }
}
