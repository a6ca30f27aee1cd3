package dev.baton.bench.serve.overload;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The verdict of an overload run (issue 15, "what it must show", item 3): the three phases (at capacity, at
 * {@code factor} times that, at capacity again), the prompt tokens the nodes computed in each against the
 * prompts they admitted, the processes' memory, and each goal met or not.
 *
 * <p>Goals: goodput of admitted requests during overload at least {@link #GOODPUT_GOAL} of the goodput at capacity;
 * every refusal a 429 or 503 with {@code Retry-After}; refusals answered within {@link #REFUSAL_MS_GOAL} ms (the
 * slowest one); no answer other than 200, 429 and 503 and none missing; no admitted request failing; no more prompt
 * tokens computed than admitted requests brought; goodput right after the overload at least {@link #GOODPUT_GOAL}
 * of the first phase's. A goal that could not be measured (no metrics endpoint) is unknown, not met.
 *
 * @param capacityRate the rate of the capacity phases, requests per second
 * @param capacitySource how it was found ({@code given}, or the probe's load)
 * @param probe the probe's phase when the capacity was measured, else null
 * @param phases capacity, overload, recovery
 * @param prefill one check per phase, in the same order
 * @param memory resident memory per process before, at the peak during the overload, and after the last phase
 * @param goodputRatio overload goodput over the first capacity phase's ({@code NaN} when that was 0)
 * @param completedRatio the same for admitted requests completed, within the SLO or not (no goal: it tells an SLO
 *     missed by admitted requests from throughput lost)
 * @param recoveryRatio the last phase's goodput over the first's
 */
public record OverloadReport(double capacityRate, String capacitySource, double factor, PhaseStats probe,
        List<PhaseStats> phases, List<PrefillCheck> prefill, Memory memory, double goodputRatio, double completedRatio,
        double recoveryRatio, List<Goal> goals) {

    /** Goodput during (and right after) the overload over goodput at capacity, at least. */
    public static final double GOODPUT_GOAL = 0.9;

    /** The slowest refusal, in milliseconds, at most (below). */
    public static final double REFUSAL_MS_GOAL = 50;

    public OverloadReport {
        phases = List.copyOf(phases);
        prefill = List.copyOf(prefill);
        goals = List.copyOf(goals);
    }

    /**
     * Prompt tokens the nodes computed during one phase against those of the requests admitted in it.
     *
     * @param computedTokens the change of the nodes' prefill counters over the phase; -1 when unknown
     */
    public record PrefillCheck(String phase, long computedTokens, long admittedPromptTokens) {

        public boolean known() {
            return computedTokens >= 0;
        }

        /** Tokens computed beyond the admitted prompts (0 when within them; prefix-cache hits make it lower). */
        public long excessTokens() {
            return known() ? Math.max(0, computedTokens - admittedPromptTokens) : -1;
        }
    }

    /** Resident bytes by process name: before the first phase, the peak during the overload, after the last phase. */
    public record Memory(Map<String, Long> before, Map<String, Long> peakDuringOverload, Map<String, Long> after) {
        public Memory {
            before = Map.copyOf(before);
            peakDuringOverload = Map.copyOf(peakDuringOverload);
            after = Map.copyOf(after);
        }

        public static final Memory UNKNOWN = new Memory(Map.of(), Map.of(), Map.of());
    }

    /**
     * One goal: what it asks, what was measured, whether it was met.
     *
     * @param met null when it could not be measured
     */
    public record Goal(String name, String goal, String measured, Boolean met) {}

    /** The ratio of two goodputs, {@code NaN} when the reference is 0 (nothing to compare with). */
    public static double ratio(double goodput, double reference) {
        return reference > 0 ? goodput / reference : Double.NaN;
    }

    /**
     * Judges a run.
     *
     * @param phases capacity, overload and recovery, in this order
     * @param prefill a check per phase, in the same order
     */
    public static OverloadReport of(double capacityRate, String capacitySource, double factor, PhaseStats probe,
            List<PhaseStats> phases, List<PrefillCheck> prefill, Memory memory) {
        if (phases.size() != 3 || prefill.size() != 3) {
            throw new IllegalArgumentException("an overload run has three phases (capacity, overload, recovery), got "
                    + phases.size() + " and " + prefill.size() + " prefill checks");
        }
        PhaseStats capacity = phases.get(0);
        PhaseStats overload = phases.get(1);
        PhaseStats recovery = phases.get(2);
        double goodput = ratio(overload.goodputPerSecond(), capacity.goodputPerSecond());
        double recovered = ratio(recovery.goodputPerSecond(), capacity.goodputPerSecond());
        List<Goal> goals = new ArrayList<>();
        goals.add(new Goal("goodput during overload", ">= " + pct(GOODPUT_GOAL) + " of capacity's", pct(goodput),
                Double.isNaN(goodput) ? null : goodput >= GOODPUT_GOAL));
        int refused = 0;
        int withoutRetryAfter = 0;
        int other = 0;
        int admittedFailed = 0;
        double slowest = Double.NaN;
        for (PhaseStats p : phases) {
            refused += p.refused();
            withoutRetryAfter += p.refusedWithoutRetryAfter();
            other += p.otherFailures();
            admittedFailed += p.admittedFailures();
            if (p.refusalMs().count() > 0) {
                slowest = Double.isNaN(slowest) ? p.refusalMs().max() : Math.max(slowest, p.refusalMs().max());
            }
        }
        goals.add(new Goal("refusals with Retry-After", "all", (refused - withoutRetryAfter) + " of " + refused,
                withoutRetryAfter == 0));
        goals.add(new Goal("slowest refusal", "< " + (int) REFUSAL_MS_GOAL + " ms",
                Double.isNaN(slowest) ? "no refusal" : String.format(Locale.ROOT, "%.1f ms", slowest),
                Double.isNaN(slowest) ? null : slowest < REFUSAL_MS_GOAL));
        goals.add(new Goal("other answers or none", "0", Integer.toString(other), other == 0));
        goals.add(new Goal("admitted requests that failed", "0", Integer.toString(admittedFailed), admittedFailed == 0));
        long excess = 0;
        boolean known = true;
        for (PrefillCheck c : prefill) {
            known &= c.known();
            excess += Math.max(0, c.excessTokens());
        }
        goals.add(new Goal("prompt tokens computed beyond admitted prompts", "0",
                known ? Long.toString(excess) : "unknown (no node metrics)", known ? excess == 0 : null));
        goals.add(new Goal("goodput right after", ">= " + pct(GOODPUT_GOAL) + " of capacity's", pct(recovered),
                Double.isNaN(recovered) ? null : recovered >= GOODPUT_GOAL));
        return new OverloadReport(capacityRate, capacitySource, factor, probe, phases, prefill, memory, goodput,
                ratio(overload.completedPerSecond(), capacity.completedPerSecond()), recovered, goals);
    }

    /** Whether every goal that could be measured was met. */
    public boolean allMeasuredGoalsMet() {
        return goals.stream().allMatch(g -> g.met() == null || g.met());
    }

    static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
