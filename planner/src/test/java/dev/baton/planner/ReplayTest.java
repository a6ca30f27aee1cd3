package dev.baton.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReplayTest {

    /** The top of the ramp: about 3.4 prefill and 7.6 decode nodes' worth (1000-token prompts, 10% cached, 200 output tokens). */
    private static final double TOP = 30;

    /** A ramp from 1 to {@link #TOP} requests/s over 5 minutes, a minute at the top, then 10 minutes with one request a minute. */
    private static List<RequestTrace.Entry> rampThenIdle() {
        Random r = new Random(7);
        List<RequestTrace.Entry> out = new ArrayList<>();
        double t = 0;
        while (t < 360) {
            double rate = Math.min(TOP, 1 + (TOP - 1) * t / 300);
            t += -Math.log(1 - r.nextDouble()) / rate;
            out.add(new RequestTrace.Entry(t, 800 + r.nextInt(400), r.nextInt(200), 150 + r.nextInt(100), Double.NaN, Double.NaN));
        }
        for (int i = 1; i <= 10; i++) {
            out.add(new RequestTrace.Entry(t + 60 * i, 1000, 0, 200, Double.NaN, Double.NaN));
        }
        return out;
    }

    @Test
    void aRampThenIdleTraceScalesUpThenBackDownToTheMinimum() {
        PlannerSettings s = Synthetic.settings("pools.prefill { min = 1, max = 8 }\npools.decode { min = 1, max = 8 }\nnode-budget = 16");
        List<RequestTrace.Entry> trace = rampThenIdle();
        List<Decision> ds = Replay.run(trace, Synthetic.model(), s, Map.of(Pool.PREFILL, 1, Pool.DECODE, 1), 30_000);
        assertEquals((int) Math.ceil(trace.get(trace.size() - 1).t() * 1000 / s.interval().toMillis()) + 1, ds.size());
        // What the top of the ramp needs at the mean lengths, from the capacity model as the decision computes it (the
        // smallest prefill pool that covers the load; decode tokens/s over one node's capacity), within the pool maximum.
        Load top = Synthetic.load(TOP, 1000, 0.1, 200);
        CapacityModel m = Synthetic.model();
        double q = s.objectives().quantile();
        Map<Pool, Integer> need = Map.of(
                Pool.PREFILL, (int) Math.ceil(m.prefillNodes(top, s.objectives().ttftMs(), q, s.maxUtilization()) - 1e-9),
                Pool.DECODE, (int) Math.ceil(top.outputTokensPerSecond() / m.decodeTokensPerSecond(top, s.objectives().itlMs(), q) - 1e-9));
        for (Pool p : List.of(Pool.PREFILL, Pool.DECODE)) {
            int wanted = s.bounds().get(p).clamp(need.get(p));
            assertTrue(wanted > 1 + s.maxStep(), p + " needs only " + wanted + " nodes at the top: not a ramp");
            int peak = 0;
            int peakAt = 0;
            for (int i = 0; i < ds.size(); i++) {
                Decision.PoolDecision pd = ds.get(i).pools().get(p);
                assertTrue(pd.start() <= s.maxStep() && pd.target() <= 8, pd::toString);
                if (pd.target() > peak) {
                    peak = pd.target();
                    peakAt = i;
                }
            }
            assertTrue(peak >= wanted, p + " peaked at " + peak + ", the top needs " + wanted);
            assertTrue(ds.get(peakAt).atMillis() <= 400_000, p + " peaked after the ramp");
            Decision.PoolDecision last = ds.get(ds.size() - 1).pools().get(p);
            assertEquals(1, last.target(), last.reason());
            assertEquals(1, last.ready() + last.pending(), last.reason());
        }
        // The same trace gives the same decisions.
        List<Decision> again = Replay.run(trace, Synthetic.model(), s, Map.of(Pool.PREFILL, 1, Pool.DECODE, 1), 30_000);
        for (int i = 0; i < ds.size(); i++) {
            assertEquals(ds.get(i).pools(), again.get(i).pools());
        }
    }

    @Test
    void anEmptyTraceHoldsAtTheMinimum() {
        PlannerSettings s = Synthetic.settings("");
        List<Decision> ds = Replay.run(List.of(), Synthetic.model(), s, Map.of(), 30_000);
        assertEquals(1, ds.size());
        assertEquals(1, ds.get(0).pools().get(Pool.PREFILL).target());
        assertEquals(1, ds.get(0).pools().get(Pool.PREFILL).ready(), "the initial sizes are clamped to the bounds");
        assertEquals(0, ds.get(0).pools().get(Pool.PREFILL).start());
    }
}
