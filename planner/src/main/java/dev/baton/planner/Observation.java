package dev.baton.planner;

import java.util.EnumMap;
import java.util.Map;

/**
 * What the router saw in one planner interval: its own meters (requests that arrived and finished,
 * their lengths and latencies) and the pools as the cluster reports them.
 *
 * @param atMillis              the end of the interval (wall clock, or simulated time)
 * @param seconds               the interval's length
 * @param arrivals              requests that arrived in the interval
 * @param promptTokens          prompt lengths of the requests that finished in the interval
 * @param effectivePromptTokens prompt minus tokens reused from a prefix cache, per finished request
 * @param outputTokens          generated tokens per finished request
 * @param ttftMs                time to first token of the requests whose first token came in the interval
 * @param itlMs                 time per output token (mean inter-token latency) of the finished requests
 * @param pools                 per pool; a pool with no nodes may be absent
 */
public record Observation(long atMillis, double seconds, long arrivals, Summary promptTokens, Summary effectivePromptTokens,
        Summary outputTokens, Summary ttftMs, Summary itlMs, Map<Pool, PoolObservation> pools) {

    /**
     * One pool.
     *
     * @param ready             nodes serving (member up, load reported, not draining)
     * @param starting          nodes seen in the cluster that are not serving yet
     * @param draining          nodes finishing their requests before they leave
     * @param running           requests running on the pool's nodes (last load reports)
     * @param waiting           requests queued on the pool's nodes
     * @param queueComputeRatio time requests waited for time computed, over the pool ({@code baton.queue.compute.ratio}); NaN when
     *                          unknown (no node computed in the interval, or a source that does not measure it)
     * @param kvUsage           used share of the pool's KV blocks, 0 to 1
     */
    public record PoolObservation(int ready, int starting, int draining, int running, int waiting, double queueComputeRatio,
            double kvUsage) {
        public static final PoolObservation NONE = new PoolObservation(0, 0, 0, 0, 0, Double.NaN, 0);
    }

    public Observation {
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("interval of " + seconds + " s");
        }
        Map<Pool, PoolObservation> m = new EnumMap<>(Pool.class);
        m.putAll(pools);
        pools = Map.copyOf(m);
    }

    /** The pool's observation, {@link PoolObservation#NONE} when it has no nodes. */
    public PoolObservation pool(Pool p) {
        return pools.getOrDefault(p, PoolObservation.NONE);
    }

    /** Requests per second that arrived. */
    public double requestRate() {
        return arrivals / seconds;
    }

    /** Share of prompt tokens served from a prefix cache, 0 to 1. */
    public double prefixHitRate() {
        double prompt = promptTokens.mean() * promptTokens.count();
        double effective = effectivePromptTokens.mean() * effectivePromptTokens.count();
        return prompt > 0 ? Math.max(0, Math.min(1, 1 - effective / prompt)) : 0;
    }

    /** The load this interval puts on the pools, the predictor's input. */
    public Load load(double quantile) {
        return new Load(requestRate(), promptTokens.mean(), effectivePromptTokens.mean(), effectivePromptTokens.at(quantile),
                outputTokens.mean());
    }
}
