package dev.baton.planner;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Replays a recorded request trace through {@link Planner#tick} offline ({@code bin/baton plan}): the trace is
 * cut into planner intervals, each becomes an {@link Observation} (lengths and, where the trace has them,
 * latencies), and the pools follow the decisions: a started node is ready {@code startup} later, a drained
 * node leaves at once. Pure: the same trace and settings give the same decisions.
 */
public final class Replay {

    private Replay() {}

    /**
     * @param initial   nodes per pool at the trace's start (each planned pool is clamped to its bounds)
     * @param startupMs how long a started node takes to become ready
     */
    public static List<Decision> run(List<RequestTrace.Entry> trace, CapacityModel profile, PlannerSettings s,
            Map<Pool, Integer> initial, long startupMs) {
        return steps(trace, profile, s, initial, startupMs, 0).stream().map(Step::decision).toList();
    }

    /** One interval of a replay: what the planner saw and what it decided. */
    public record Step(Observation observation, Decision decision) {}

    /**
     * As {@link #run}, with each interval's observation, going on {@code idleMs} past the last arrival with no
     * traffic (to see the pools come down).
     */
    public static List<Step> steps(List<RequestTrace.Entry> trace, CapacityModel profile, PlannerSettings s,
            Map<Pool, Integer> initial, long startupMs, long idleMs) {
        long interval = s.interval().toMillis();
        double end = trace.isEmpty() ? 0 : trace.get(trace.size() - 1).t();
        int ticks = (int) Math.ceil((end * 1000 + Math.max(0, idleMs)) / interval) + 1;
        Map<Pool, Integer> ready = new EnumMap<>(Pool.class);
        Map<Pool, List<Long>> starting = new EnumMap<>(Pool.class);
        for (Pool p : Pool.values()) {
            int n = initial.getOrDefault(p, 0);
            ready.put(p, s.bounds().get(p).planned() ? s.bounds().get(p).clamp(n) : n);
            starting.put(p, new ArrayList<>());
        }
        PlannerState state = PlannerState.initial(s);
        List<Step> out = new ArrayList<>();
        int next = 0;
        for (int k = 1; k <= ticks; k++) {
            long now = k * interval;
            List<RequestTrace.Entry> in = new ArrayList<>();
            while (next < trace.size() && trace.get(next).t() * 1000 < now) {
                in.add(trace.get(next++));
            }
            for (Pool p : Pool.values()) {
                List<Long> st = starting.get(p);
                while (!st.isEmpty() && st.get(0) <= now) {
                    st.remove(0);
                    ready.merge(p, 1, Integer::sum);
                }
            }
            Map<Pool, Observation.PoolObservation> pools = new EnumMap<>(Pool.class);
            for (Pool p : Pool.values()) {
                pools.put(p, new Observation.PoolObservation(ready.get(p), starting.get(p).size(), 0, 0, 0, Double.NaN, 0));
            }
            Observation obs = observe(now, interval / 1000.0, in, pools);
            Decision d = Planner.tick(obs, profile, s, state);
            state = d.state();
            for (Map.Entry<Pool, Decision.PoolDecision> e : d.pools().entrySet()) {
                Pool p = e.getKey();
                Decision.PoolDecision pd = e.getValue();
                for (int i = 0; i < pd.start(); i++) {
                    starting.get(p).add(now + startupMs);
                }
                ready.merge(p, -Math.min(pd.drain(), ready.get(p)), Integer::sum);
                for (int i = 0; i < pd.abandoned() && !starting.get(p).isEmpty(); i++) {
                    starting.get(p).remove(starting.get(p).size() - 1);
                }
            }
            out.add(new Step(obs, d));
        }
        return out;
    }

    /** The observation of the requests {@code in} that arrived in one interval ending at {@code atMillis}. */
    public static Observation observe(long atMillis, double seconds, List<RequestTrace.Entry> in,
            Map<Pool, Observation.PoolObservation> pools) {
        int n = in.size();
        double[] prompt = new double[n];
        double[] effective = new double[n];
        double[] output = new double[n];
        double[] ttft = new double[n];
        double[] itl = new double[n];
        int nt = 0;
        int ni = 0;
        for (int i = 0; i < n; i++) {
            RequestTrace.Entry e = in.get(i);
            prompt[i] = e.prompt();
            effective[i] = e.effectivePrompt();
            output[i] = e.output();
            if (Double.isFinite(e.ttftMs())) {
                ttft[nt++] = e.ttftMs();
            }
            if (Double.isFinite(e.itlMs()) && e.output() > 1) {
                itl[ni++] = e.itlMs();
            }
        }
        return new Observation(atMillis, seconds, n, Summary.of(prompt), Summary.of(effective), Summary.of(output),
                Summary.of(ttft, nt), Summary.of(itl, ni), pools);
    }
}
