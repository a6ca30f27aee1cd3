package dev.baton.planner;

import java.util.List;
import java.util.Map;

/**
 * The outcome of one planner tick: a target per pool, what to do to reach it, and why. Also the record the
 * router logs as JSON, serves at {@code GET /v1/planner} and turns into {@code baton_planner_*} meters.
 *
 * @param atMillis    the tick's time
 * @param observed    the interval's load as measured
 * @param predicted   the load expected over the next interval (what the pools are sized for)
 * @param capacity    per-node capacities at the objectives and the correction factors
 * @param pools       per planned pool
 * @param state       the state to pass to the next tick
 */
public record Decision(long atMillis, Load observed, Load predicted, Capacity capacity, Map<Pool, PoolDecision> pools,
        PlannerState state) {

    /**
     * Per-node capacity at the objectives.
     *
     * @param prefillTokensPerSecond effective prompt tokens/s of one prefill node at the TTFT objective
     * @param prefillUtilization     the utilization that capacity plans for
     * @param decodeTokensPerSecond  output tokens/s of one decode node at the ITL objective
     * @param decodeStreams          streams per decode node at the ITL objective
     * @param prefillFactor          observed / profiled prefill time
     * @param decodeFactor           observed / profiled ITL
     * @param ttftReachable          whether one request alone meets the TTFT objective (no node count can otherwise)
     * @param itlReachable           whether one stream alone meets the ITL objective
     */
    public record Capacity(double prefillTokensPerSecond, double prefillUtilization, double decodeTokensPerSecond,
            double decodeStreams, double prefillFactor, double decodeFactor, boolean ttftReachable, boolean itlReachable) {}

    /**
     * One pool.
     *
     * @param current    nodes serving or coming before this tick's actions (ready plus pending)
     * @param ready      nodes serving now
     * @param pending    nodes started and not ready yet (counted as coming)
     * @param draining   nodes leaving
     * @param required   nodes the predicted load needs at the capacity (fractional)
     * @param desired    the whole number wanted this tick, within bounds and budget
     * @param target     the size to run towards after hysteresis, cooldowns and the step limit
     * @param start      nodes to start now
     * @param drain      nodes to drain now (the least busy first)
     * @param abandoned  pending nodes given up this tick (not ready within the pending timeout)
     * @param estimatedTtftMs TTFT expected at the objective's percentile with {@code target} nodes (prefill, worker)
     * @param estimatedItlMs  ITL expected with {@code target} nodes (decode, worker)
     * @param reason     why, in words
     */
    public record PoolDecision(int current, int ready, int pending, int draining, double required, int desired, int target, int start,
            int drain, int abandoned, double estimatedTtftMs, double estimatedItlMs, String reason) {

        /** Whether this tick changes the pool. */
        public boolean acts() {
            return start > 0 || drain > 0 || abandoned > 0;
        }
    }

    public Decision {
        pools = Map.copyOf(pools);
    }

    /** The reasons of every pool, for a log line. */
    public List<String> reasons() {
        return pools.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey().role() + ": " + e.getValue().reason()).toList();
    }
}
