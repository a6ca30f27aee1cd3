package dev.baton.planner;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What the planner carries from one decision to the next: a value (records and immutable lists), so that
 * {@link Planner#decide} is a pure function and a replay of the same observations gives the same decisions.
 *
 * @param predictor       the load predictor, having seen every interval so far
 * @param prefillFactor   the correction of the profile's prefill times (observed / profiled)
 * @param decodeFactor    the correction of the profile's inter-token latencies
 * @param pools           per pool
 * @param ticks           decisions made
 */
public record PlannerState(LoadPredictor predictor, double prefillFactor, double decodeFactor, Map<Pool, PoolState> pools,
        long ticks) {

    /** A size a pool wanted at one time (for the hysteresis windows). */
    public record Wish(long atMillis, int nodes) {}

    /**
     * One pool.
     *
     * @param pendingSince     when each node the planner started and has not seen ready yet was asked for
     * @param readySeen        ready nodes at the last decision
     * @param lastScaleUpMillis   time of the last scale-up, {@link Long#MIN_VALUE} for never
     * @param lastScaleDownMillis time of the last scale-down
     * @param wishes           sizes wanted over the longest window, oldest first
     */
    public record PoolState(List<Long> pendingSince, int readySeen, long lastScaleUpMillis, long lastScaleDownMillis,
            List<Wish> wishes) {

        public static final PoolState INITIAL = new PoolState(List.of(), 0, Long.MIN_VALUE, Long.MIN_VALUE, List.of());

        public PoolState {
            pendingSince = List.copyOf(pendingSince);
            wishes = List.copyOf(wishes);
        }

        PoolState with(List<Long> pending, int ready, long up, long down, List<Wish> w) {
            return new PoolState(pending, ready, up, down, w);
        }

        /** The wishes kept within {@code horizonMillis} of {@code now}, plus one new. */
        List<Wish> wished(long now, int nodes, long horizonMillis) {
            List<Wish> w = new ArrayList<>();
            for (Wish x : wishes) {
                if (now - x.atMillis() < horizonMillis) {
                    w.add(x);
                }
            }
            w.add(new Wish(now, nodes));
            return w;
        }
    }

    public PlannerState {
        Map<Pool, PoolState> m = new EnumMap<>(Pool.class);
        for (Pool p : Pool.values()) {
            m.put(p, pools.getOrDefault(p, PoolState.INITIAL));
        }
        pools = Map.copyOf(m);
    }

    /** The state before the first decision. */
    public static PlannerState initial(PlannerSettings settings) {
        return new PlannerState(LoadPredictors.create(settings.predictor()), 1, 1, Map.of(), 0);
    }

    public PoolState pool(Pool p) {
        return pools.get(p);
    }
}
