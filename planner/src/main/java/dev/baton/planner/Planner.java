package dev.baton.planner;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The planner's decisions, as pure functions of their inputs: no clock, no I/O, no threads. The router calls
 * {@link #tick} once per interval, {@code bin/baton plan} calls it over a recorded trace, the simulator over a
 * modelled cluster; all three get the same decisions for the same inputs.
 */
public final class Planner {

    /** Below this many nodes' worth of load a pool needs none (zero traffic is zero load). */
    private static final double NEGLIGIBLE = 0.01;

    private Planner() {}

    /**
     * One interval: corrects the profile by the interval's latencies, feeds the predictor, and
     * {@link #decide decides} on the forecast.
     */
    public static Decision tick(Observation obs, CapacityModel profile, PlannerSettings s, PlannerState state) {
        double q = s.objectives().quantile();
        Load observed = obs.load(q);
        CapacityModel before = profile.corrected(state.prefillFactor(), state.decodeFactor());
        Load sized = observed.withLengthsOf(state.predictor().forecast());
        Pool prefillPool = s.colocated() ? Pool.WORKER : Pool.PREFILL;
        Pool decodePool = s.colocated() ? Pool.WORKER : Pool.DECODE;
        double pf = state.prefillFactor();
        double df = state.decodeFactor();
        int minSamples = s.correction().minSamples();
        if (obs.ttftMs().count() >= minSamples && obs.pool(prefillPool).ready() > 0) {
            double queueCompute = obs.pool(prefillPool).queueComputeRatio();
            if (queueCompute >= 0) { // measured (NaN: unknown)
                // The factor corrects the profile's prefill time, so it is fitted to the compute part of TTFT only
                // (mean TTFT over 1 + queue/compute against the profiled time of the mean prompt). Fitted to the
                // whole TTFT it also absorbed the queueing model's error: a pool sized right waited less than the
                // estimate, the factor fell, the pool was shrunk until requests queued, the factor rose, and the pool
                // flapped (simulated: prefill 6 -> 2 -> 7 nodes on a steady load). Without the ratio (NaN, unknown)
                // the whole TTFT is compared with the expected one.
                double compute = obs.ttftMs().mean() / (1 + queueCompute);
                pf = s.correction().next(pf, compute / before.prefillMs(Math.max(1, sized.effectivePromptTokens()), 0.5));
            } else {
                double expected = before.expectedTtftMs(sized, obs.pool(prefillPool).ready(), q);
                pf = s.correction().next(pf, obs.ttftMs().at(q) / expected);
            }
        }
        if (obs.itlMs().count() >= minSamples && obs.pool(decodePool).ready() > 0) {
            double expected = before.expectedItlMs(sized, obs.pool(decodePool).ready(), q);
            df = s.correction().next(df, obs.itlMs().at(q) / expected);
        }
        LoadPredictor predictor = state.predictor().observe(observed);
        Decision d = decide(obs, observed, predictor.forecast(), profile.corrected(pf, df), s,
                new PlannerState(predictor, pf, df, state.pools(), state.ticks()));
        return d;
    }

    /**
     * The decision function: {@code (observation, prediction, capacity, objectives and bounds, state) -> (targets
     * per pool, new state, reasons)}.
     *
     * <ul>
     *   <li>Prefill nodes from effective prompt tokens/s (prompt minus prefix-cache hits) against the pool's prefill
     *       capacity at the TTFT objective (the smallest pool that covers it, queueing as one M/M/k queue); decode nodes from output tokens/s over one node's decode capacity at
     *       the ITL objective and the predicted context; a colocated worker pool from the sum of both shares.
     *   <li>Within each pool's bounds; when the pools want more than the node budget, each pool keeps its minimum
     *       and the rest goes one node at a time to the pool with the most load left uncovered. A pool grows only
     *       into what the other pools leave of the budget (one inside its scale-down window keeps its nodes).
     *   <li>Hysteresis: grow to the smallest size wanted over the scale-up window, shrink to the largest size
     *       wanted over the scale-down window, cooldowns between changes, at most {@code max-step} a tick.
     *   <li>Nodes not ready yet count as coming (the planner's pending ones or the nodes seen starting in the
     *       cluster, whichever are more); a pending node not ready within the pending timeout is given up and no
     *       longer counted. A scale-down gives up pending nodes before it drains ready ones.
     * </ul>
     */
    public static Decision decide(Observation obs, Load observed, Load prediction, CapacityModel capacity, PlannerSettings s,
            PlannerState state) {
        long now = obs.atMillis();
        Objectives o = s.objectives();
        double q = o.quantile();
        // Prefill: the pool queues as one (M/M/k), so a node's capacity grows with the pool; reported for the pool wanted.
        // Backlog: requests waiting at a pool now are served on top of the predicted load, within backlog-horizon.
        double horizon = s.backlogHorizon().toMillis() / 1000.0;
        Pool prefillPool = s.colocated() ? Pool.WORKER : Pool.PREFILL;
        Pool decodePool = s.colocated() ? Pool.WORKER : Pool.DECODE;
        double prefillBacklog = horizon > 0 ? obs.pool(prefillPool).waiting() / horizon : 0; // requests/s
        double decodeBacklog = horizon > 0 && !s.colocated() ? obs.pool(decodePool).waiting() / horizon : 0;
        Load prefillLoad = prefillBacklog > 0 ? prediction.withRate(prediction.requestRate() + prefillBacklog) : prediction;
        double prefillNodes = capacity.prefillNodes(prefillLoad, o.ttftMs(), q, s.maxUtilization());
        int poolSize = (int) Math.max(1, Math.min(1 << 20, Math.ceil(prefillNodes - 1e-9)));
        double prefillCap = capacity.prefillTokensPerSecond(prediction, o.ttftMs(), q, s.maxUtilization(), poolSize);
        double decodeCap = capacity.decodeTokensPerSecond(prediction, o.itlMs(), q);
        Decision.Capacity cap = new Decision.Capacity(prefillCap,
                capacity.prefillUtilization(prediction, o.ttftMs(), q, s.maxUtilization(), poolSize), decodeCap,
                capacity.decodeStreams(Math.max(1, prediction.contextTokens()), o.itlMs(), q), capacity.prefillFactor(),
                capacity.decodeFactor(), capacity.prefillReachable(prediction, o.ttftMs(), q),
                capacity.decodeReachable(Math.max(1, prediction.contextTokens()), o.itlMs(), q));

        double prefillShare = prefillNodes;
        double decodeShare = (prediction.outputTokensPerSecond()
                + decodeBacklog * Math.max(1, prediction.outputTokens())) / decodeCap;
        Map<Pool, Double> required = new EnumMap<>(Pool.class);
        if (s.colocated()) {
            required.put(Pool.WORKER, prefillShare + decodeShare);
        } else {
            if (s.bounds().get(Pool.PREFILL).planned()) {
                required.put(Pool.PREFILL, prefillShare);
            }
            if (s.bounds().get(Pool.DECODE).planned()) {
                required.put(Pool.DECODE, decodeShare);
            }
        }
        Map<Pool, Integer> desired = budgeted(required, s);

        Map<Pool, Decision.PoolDecision> pools = new EnumMap<>(Pool.class);
        Map<Pool, PlannerState.PoolState> next = new EnumMap<>(state.pools());
        Map<Pool, Step> steps = new EnumMap<>(Pool.class);
        int total = 0;
        for (Map.Entry<Pool, Integer> e : desired.entrySet()) {
            Pool p = e.getKey();
            Step step = step(p, obs.pool(p), state.pool(p), required.get(p), e.getValue(), now, s, prediction, capacity, cap,
                    Integer.MAX_VALUE, missed(p, obs, s));
            steps.put(p, step);
            total += step.decision.target();
        }
        if (total > s.nodeBudget()) {
            // A pool that shrinks only after its scale-down window still holds its nodes: a pool that grows gets
            // what the others leave of the budget, not what budgeted() granted it.
            Map<Pool, Step> capped = new EnumMap<>(steps);
            for (Map.Entry<Pool, Step> e : steps.entrySet()) {
                Pool p = e.getKey();
                if (e.getValue().decision.start() > 0) {
                    int others = total - e.getValue().decision.target();
                    capped.put(p, step(p, obs.pool(p), state.pool(p), required.get(p), desired.get(p), now, s, prediction, capacity,
                            cap, s.nodeBudget() - others, missed(p, obs, s)));
                }
            }
            steps = capped;
        }
        for (Map.Entry<Pool, Step> e : steps.entrySet()) {
            pools.put(e.getKey(), e.getValue().decision);
            next.put(e.getKey(), e.getValue().state);
        }
        PlannerState after = new PlannerState(state.predictor(), capacity.prefillFactor(), capacity.decodeFactor(), next,
                state.ticks() + 1);
        return new Decision(now, observed, prediction, cap, pools, after);
    }

    /** Whole nodes per pool: each pool's need rounded up, within its bounds, then within the budget. */
    static Map<Pool, Integer> budgeted(Map<Pool, Double> required, PlannerSettings s) {
        Map<Pool, Integer> want = new EnumMap<>(Pool.class);
        int total = 0;
        for (Map.Entry<Pool, Double> e : required.entrySet()) {
            double r = e.getValue();
            int n = r < NEGLIGIBLE || !Double.isFinite(r) ? (Double.isInfinite(r) ? Integer.MAX_VALUE : 0) : (int) Math.ceil(r - 1e-9);
            n = s.bounds().get(e.getKey()).clamp(n);
            want.put(e.getKey(), n);
            total += n;
        }
        if (total <= s.nodeBudget()) {
            return want;
        }
        Map<Pool, Integer> alloc = new EnumMap<>(Pool.class);
        int used = 0;
        for (Pool p : want.keySet()) {
            alloc.put(p, s.bounds().get(p).min());
            used += s.bounds().get(p).min();
        }
        while (used < s.nodeBudget()) {
            Pool best = null;
            double bestGap = Double.NEGATIVE_INFINITY;
            for (Pool p : want.keySet()) {
                if (alloc.get(p) < want.get(p)) {
                    double gap = required.get(p) / alloc.get(p).doubleValue(); // load per node if it got no more
                    if (alloc.get(p) == 0) {
                        gap = Double.MAX_VALUE;
                    }
                    if (gap > bestGap) {
                        bestGap = gap;
                        best = p;
                    }
                }
            }
            if (best == null) {
                break;
            }
            alloc.merge(best, 1, Integer::sum);
            used++;
        }
        return alloc;
    }

    private record Step(Decision.PoolDecision decision, PlannerState.PoolState state) {}

    /**
     * The objective the pool is sized for, missed in this interval (TTFT for prefill, ITL for decode, either for
     * workers) with at least {@code correction.min-samples} requests: a description, or null when it was met or
     * not measured.
     */
    static String missed(Pool p, Observation obs, PlannerSettings s) {
        Objectives o = s.objectives();
        double q = o.quantile();
        int min = s.correction().minSamples();
        String pct = "p" + fmt(o.percentile());
        if (p != Pool.DECODE && obs.ttftMs().count() >= min && obs.ttftMs().at(q) > o.ttftMs()) {
            return String.format(Locale.ROOT, "TTFT %s %.0f ms > %s ms", pct, obs.ttftMs().at(q), fmt(o.ttftMs()));
        }
        if (p != Pool.PREFILL && obs.itlMs().count() >= min && obs.itlMs().at(q) > o.itlMs()) {
            return String.format(Locale.ROOT, "ITL %s %.1f ms > %s ms", pct, obs.itlMs().at(q), fmt(o.itlMs()));
        }
        return null;
    }

    private static Step step(Pool p, Observation.PoolObservation seen, PlannerState.PoolState ps, double required, int desired,
            long now, PlannerSettings s, Load prediction, CapacityModel capacity, Decision.Capacity cap, int ceiling,
            String missed) {
        PlannerSettings.Bounds bounds = s.bounds().get(p);
        int ready = seen.ready();
        List<Long> pending = new ArrayList<>(ps.pendingSince());
        int newlyReady = Math.max(0, ready - ps.readySeen());
        for (int i = 0; i < newlyReady && !pending.isEmpty(); i++) {
            pending.remove(0);
        }
        int abandoned = 0;
        long timeout = s.pendingTimeout().toMillis();
        for (int i = pending.size() - 1; i >= 0; i--) {
            if (now - pending.get(i) >= timeout) {
                pending.remove(i);
                abandoned++;
            }
        }
        // Nodes the planner started show up as starting (in the cluster, not serving yet) before they are ready;
        // nodes started by someone else (bin/baton up, a deployment) too. Either way they are coming, except
        // those just given up: they were still seen starting in this interval, but are stopped now.
        int current = ready + Math.max(pending.size(), Math.max(0, seen.starting() - abandoned));
        long upWindow = s.scaleUpWindow().toMillis();
        long downWindow = s.scaleDownWindow().toMillis();
        List<PlannerState.Wish> wishes = ps.wished(now, desired, Math.max(upWindow, downWindow) + 1);
        int upTarget = Integer.MAX_VALUE;
        int downTarget = 0;
        for (PlannerState.Wish w : wishes) {
            long age = now - w.atMillis();
            if (age <= upWindow) {
                upTarget = Math.min(upTarget, w.nodes());
            }
            if (age <= downWindow) {
                downTarget = Math.max(downTarget, w.nodes());
            }
        }
        long lastUp = ps.lastScaleUpMillis();
        long lastDown = ps.lastScaleDownMillis();
        long lastChange = Math.max(lastUp, lastDown);
        // While the pool misses its objective the scale-up window and cooldown are not waited out: they keep noise
        // from growing a pool, and this is not noise. Nodes already coming are counted, and max-step still holds.
        boolean urgent = missed != null && desired > current;
        if (urgent) {
            upTarget = Math.max(upTarget, desired);
        }
        String need = need(p, required, prediction, cap, s);
        if (s.backlogHorizon().toMillis() > 0 && seen.waiting() > 0 && (p != Pool.DECODE || !s.colocated())) {
            need += String.format(Locale.ROOT, ", and %d request(s) waiting to serve within %d s", seen.waiting(),
                    s.backlogHorizon().toSeconds());
        }
        int target = current;
        String why;
        if (current < bounds.min()) {
            target = bounds.min();
            why = String.format(Locale.ROOT, "scale up %d -> %d: below the pool minimum", current, target);
        } else if (current > bounds.max()) {
            target = Math.max(bounds.max(), current - s.maxStep());
            why = String.format(Locale.ROOT, "scale down %d -> %d: above the pool maximum %d", current, target, bounds.max());
        } else if (upTarget > current) {
            int wanted = Math.min(upTarget, current + s.maxStep());
            boolean cooled = urgent || since(now, lastUp) >= s.scaleUpCooldown().toMillis();
            if (cooled && ceiling <= current) {
                why = String.format(Locale.ROOT, "hold %d (wants %d, node budget %d held by the other pools until they shrink): %s",
                        current, upTarget, s.nodeBudget(), need);
            } else if (cooled) {
                target = Math.min(wanted, ceiling);
                why = String.format(Locale.ROOT, "scale up %d -> %d%s%s: %s", current, target,
                        urgent ? " (objective missed: " + missed + ")" : "",
                        target < wanted ? String.format(Locale.ROOT, " (node budget %d, the rest held by the other pools)", s.nodeBudget())
                                : "", need);
            } else {
                why = String.format(Locale.ROOT, "hold %d (wants %d, scale-up cooldown): %s", current, upTarget, need);
            }
        } else if (downTarget < current) {
            if (since(now, lastChange) >= s.scaleDownCooldown().toMillis()) {
                target = Math.max(downTarget, current - s.maxStep());
                why = String.format(Locale.ROOT, "scale down %d -> %d: %s", current, target, need);
            } else {
                why = String.format(Locale.ROOT, "hold %d (wants %d, scale-down cooldown): %s", current, downTarget, need);
            }
        } else if (desired < current) {
            why = String.format(Locale.ROOT, "hold %d (wants %d, wanted %d within the scale-down window): %s", current, desired,
                    downTarget, need);
        } else if (desired > current) {
            why = String.format(Locale.ROOT, "hold %d (wants %d, not for the whole scale-up window): %s", current, desired, need);
        } else {
            why = String.format(Locale.ROOT, "steady at %d: %s", current, need);
        }
        if (desired < (int) Math.ceil(required - 1e-9) && required >= NEGLIGIBLE && desired == bounds.max()) {
            why += String.format(Locale.ROOT, " (capped at the pool maximum %d)", bounds.max());
        } else if (desired < bounds.clamp((int) Math.ceil(required - 1e-9))) {
            why += String.format(Locale.ROOT, " (node budget %d: %d granted)", s.nodeBudget(), desired);
        }
        if (abandoned > 0) {
            why += String.format(Locale.ROOT, "; gave up %d node(s) not ready after %d s", abandoned, timeout / 1000);
        }
        int start = Math.max(0, target - current);
        int drain = Math.max(0, current - target);
        int cancel = Math.min(drain, pending.size());
        for (int i = 0; i < cancel; i++) {
            pending.remove(pending.size() - 1); // the newest pending first
        }
        abandoned += cancel;
        drain -= cancel;
        for (int i = 0; i < start; i++) {
            pending.add(now);
        }
        if (start > 0) {
            lastUp = now;
        }
        if (drain > 0 || cancel > 0) {
            lastDown = now;
        }
        double ttft = p == Pool.DECODE ? Double.NaN : capacity.expectedTtftMs(prediction, target, s.objectives().quantile());
        double itl = p == Pool.PREFILL ? Double.NaN : capacity.expectedItlMs(prediction, target, s.objectives().quantile());
        Decision.PoolDecision d = new Decision.PoolDecision(current, ready, pending.size(), seen.draining(), required, desired, target,
                start, drain, abandoned, ttft, itl, why);
        return new Step(d, ps.with(pending, ready, lastUp, lastDown, wishes));
    }

    private static long since(long now, long then) {
        return then == Long.MIN_VALUE ? Long.MAX_VALUE : now - then;
    }

    private static String need(Pool p, double required, Load prediction, Decision.Capacity cap, PlannerSettings s) {
        Objectives o = s.objectives();
        String pct = "p" + fmt(o.percentile());
        String prefill = String.format(Locale.ROOT, "%.0f prompt tok/s (%.0f%% cached) at %.0f tok/s per node (TTFT %s <= %s ms)%s",
                prediction.effectivePromptTokensPerSecond(),
                prediction.promptTokens() > 0 ? 100 * (1 - prediction.effectivePromptTokens() / prediction.promptTokens()) : 0,
                cap.prefillTokensPerSecond(), pct, fmt(o.ttftMs()), cap.ttftReachable() ? "" : ", objective below the profile's floor");
        String decode = String.format(Locale.ROOT, "%.0f output tok/s at %.0f tok/s per node (%.1f streams, ITL %s <= %s ms, context %.0f)%s",
                prediction.outputTokensPerSecond(), cap.decodeTokensPerSecond(), cap.decodeStreams(), pct, fmt(o.itlMs()),
                prediction.contextTokens(), cap.itlReachable() ? "" : ", objective below the profile's floor");
        String body = switch (p) {
            case PREFILL -> prefill;
            case DECODE -> decode;
            case WORKER -> prefill + " and " + decode;
        };
        return String.format(Locale.ROOT, "%.2f node(s) for %s", required, body);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
