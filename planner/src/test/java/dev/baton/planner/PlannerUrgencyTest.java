package dev.baton.planner;

import static dev.baton.planner.Synthetic.load;
import static dev.baton.planner.Synthetic.settings;
import static dev.baton.planner.Synthetic.sizes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the planner does when a pool is already behind: a missed objective grows the pool without waiting out the
 * scale-up window and cooldown, and requests waiting at a pool are sized for on top of the predicted load.
 */
class PlannerUrgencyTest {

    private static final String SLOW = "pools.prefill.max = 10\npools.decode.max = 10\nnode-budget = 20\n"
            + "scale-up { window = 60s, cooldown = 60s }\nmax-step = 2";

    private static final Load LOW = load(1, 1600, 0, 150);
    private static final Load HIGH = load(10.5, 1600, 0, 150);

    /** {@code n} TTFTs of {@code ms} each. */
    private static Summary latencies(int n, double ms) {
        return new Summary(n, ms, ms, ms, ms, ms);
    }

    private static Observation withPools(Observation o, int prefillWaiting, int decodeWaiting) {
        Map<Pool, Observation.PoolObservation> pools = new EnumMap<>(Pool.class);
        Observation.PoolObservation p = o.pool(Pool.PREFILL);
        Observation.PoolObservation d = o.pool(Pool.DECODE);
        pools.put(Pool.PREFILL, new Observation.PoolObservation(p.ready(), p.starting(), 0, 0, prefillWaiting, Double.NaN, 0));
        pools.put(Pool.DECODE, new Observation.PoolObservation(d.ready(), d.starting(), 0, 0, decodeWaiting, Double.NaN, 0));
        return new Observation(o.atMillis(), o.seconds(), o.arrivals(), o.promptTokens(), o.effectivePromptTokens(), o.outputTokens(),
                o.ttftMs(), o.itlMs(), pools);
    }

    /** A quiet interval (the pools want 1 node), then a busy one whose TTFT is {@code ttftMs}. */
    private static Decision quietThenBusy(PlannerSettings s, double ttftMs) {
        Decision quiet = Planner.decide(Synthetic.observation(10_000, 10, LOW, sizes(1, 1), Summary.EMPTY, Summary.EMPTY), LOW, LOW,
                Synthetic.model(), s, PlannerState.initial(s));
        assertEquals(1, quiet.pools().get(Pool.PREFILL).target());
        Observation busy = Synthetic.observation(20_000, 10, HIGH, sizes(1, 1), latencies(40, ttftMs), Summary.EMPTY);
        return Planner.decide(busy, HIGH, HIGH, Synthetic.model(), s, quiet.state());
    }

    @Test
    void aBusyIntervalWithinTheObjectivesWaitsOutTheScaleUpWindow() {
        PlannerSettings s = settings(SLOW);
        Decision d = quietThenBusy(s, s.objectives().ttftMs() / 2);
        Decision.PoolDecision p = d.pools().get(Pool.PREFILL);
        assertTrue(p.desired() >= 3, p.reason());
        assertEquals(0, p.start(), p.reason());
        assertTrue(p.reason().contains("not for the whole scale-up window") || p.reason().startsWith("hold"), p.reason());
    }

    @Test
    void aMissedObjectiveGrowsThePoolAtOnceByAtMostMaxStep() {
        PlannerSettings s = settings(SLOW);
        Decision d = quietThenBusy(s, s.objectives().ttftMs() * 3);
        Decision.PoolDecision p = d.pools().get(Pool.PREFILL);
        assertEquals(2, p.start(), p.reason());
        assertEquals(3, p.target(), p.reason());
        assertTrue(p.reason().contains("objective missed: TTFT p90 1500 ms > 500 ms"), p.reason());
        // Decode met its objective (no ITL measured): it still waits out the window.
        assertEquals(0, d.pools().get(Pool.DECODE).start(), d.pools().get(Pool.DECODE).reason());

        // Ten seconds later, still missed, still short: the cooldown does not hold it either.
        Load higher = load(25, 1600, 0, 150);
        Observation next = Synthetic.observation(30_000, 10, higher, sizes(1, 1), latencies(40, s.objectives().ttftMs() * 3),
                Summary.EMPTY);
        Decision again = Planner.decide(next, higher, higher, Synthetic.model(), s, d.state());
        Decision.PoolDecision p2 = again.pools().get(Pool.PREFILL);
        assertEquals(3, p2.current(), "the two started nodes count as coming: " + p2.reason());
        assertEquals(2, p2.start(), p2.reason());
    }

    @Test
    void tooFewSamplesDoNotCountAsAMissedObjective() {
        PlannerSettings s = settings(SLOW);
        Decision quiet = Planner.decide(Synthetic.observation(10_000, 10, LOW, sizes(1, 1), Summary.EMPTY, Summary.EMPTY), LOW, LOW,
                Synthetic.model(), s, PlannerState.initial(s));
        Observation busy = Synthetic.observation(20_000, 10, HIGH, sizes(1, 1),
                latencies(s.correction().minSamples() - 1, s.objectives().ttftMs() * 3), Summary.EMPTY);
        Decision d = Planner.decide(busy, HIGH, HIGH, Synthetic.model(), s, quiet.state());
        assertEquals(0, d.pools().get(Pool.PREFILL).start(), d.pools().get(Pool.PREFILL).reason());
        assertFalse(d.pools().get(Pool.PREFILL).reason().contains("objective missed"));
    }

    @Test
    void requestsWaitingAtAPoolAreSizedForWithinTheBacklogHorizon() {
        PlannerSettings s = settings("pools.prefill.max = 20\npools.decode.max = 20\nnode-budget = 40\nbacklog-horizon = 30s");
        Observation base = Synthetic.observation(10_000, 10, HIGH, sizes(3, 3), Summary.EMPTY, Summary.EMPTY);
        Decision none = Planner.decide(withPools(base, 0, 0), HIGH, HIGH, Synthetic.model(), s, PlannerState.initial(s));
        Decision waiting = Planner.decide(withPools(base, 300, 60), HIGH, HIGH, Synthetic.model(), s, PlannerState.initial(s));
        double q = s.objectives().quantile();
        // 300 prompts waiting, served within 30 s: 10 more requests a second for the prefill pool.
        double expected = Synthetic.model().prefillNodes(HIGH.withRate(HIGH.requestRate() + 300 / 30.0), s.objectives().ttftMs(), q,
                s.maxUtilization());
        assertEquals(expected, waiting.pools().get(Pool.PREFILL).required(), 1e-9);
        assertTrue(waiting.pools().get(Pool.PREFILL).required() > none.pools().get(Pool.PREFILL).required() + 1,
                waiting.pools().get(Pool.PREFILL).reason());
        assertTrue(waiting.pools().get(Pool.PREFILL).reason().contains("300 request(s) waiting to serve within 30 s"),
                waiting.pools().get(Pool.PREFILL).reason());
        // 60 streams waiting for a decode slot: their output tokens within 30 s on top of the predicted rate.
        double decodeCap = none.capacity().decodeTokensPerSecond();
        assertEquals(none.pools().get(Pool.DECODE).required() + 60 / 30.0 * HIGH.outputTokens() / decodeCap,
                waiting.pools().get(Pool.DECODE).required(), 1e-9);

        PlannerSettings off = settings("pools.prefill.max = 20\npools.decode.max = 20\nnode-budget = 40\nbacklog-horizon = 0s");
        Decision ignored = Planner.decide(withPools(base, 300, 60), HIGH, HIGH, Synthetic.model(), off, PlannerState.initial(off));
        assertEquals(none.pools().get(Pool.PREFILL).required(), ignored.pools().get(Pool.PREFILL).required(), 1e-9);
        assertEquals(none.pools().get(Pool.DECODE).required(), ignored.pools().get(Pool.DECODE).required(), 1e-9);
    }
}
