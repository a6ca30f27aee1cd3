package dev.baton.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Per-node capacity at the objectives, from a {@link CapacityProfile} interpolated and corrected by the ratio
 * of observed to profiled latency (a factor per phase, 1 for the profile as measured).
 *
 * <p><b>Prefill.</b> A prefill node computes prompts one at a time; a prompt of {@code L} tokens takes
 * {@code s(L)}, the profiled TTFT at {@code L} (piecewise linear in {@code L}, extrapolated from the last
 * segment). Requests queue in front of it, so the TTFT of a request is {@code s + wait}. The wait at
 * utilization {@code rho} is that of an M/G/k queue of the pool's {@code k} nodes (the router sends each
 * prompt to the node with the least queued work, which queues like one queue in front of {@code k} servers), by
 * the Allen-Cunneen approximation: the M/M/k wait scaled by {@code (1 + cs2) / 2}, {@code cs2} the squared
 * coefficient of variation of the prefill time (from the spread of prompt lengths and of the profile). Its
 * {@code q}-quantile is {@code (1 + cs2) / 2 * max(0, ln(C(k, k rho) / (1 - q))) * s_mean / (k (1 - rho))} with
 * Erlang's C ({@code rho} for one node). A node's capacity in a pool of {@code k} is the highest utilization
 * (at most {@code max-utilization}) at which the slow request (effective prompt length at the objective's
 * percentile) still meets the TTFT objective, times its token rate {@code L_mean / s(L_mean)}; the pool's size
 * is the smallest {@code k} whose capacity covers the load.
 *
 * <p><b>Decode.</b> A decode node batches its streams; the profiled ITL grows with the number of streams
 * and with their context. Its capacity is the most streams {@code c} whose ITL at the objective's percentile
 * still meets the ITL objective (bilinear in concurrency and context), at {@code c * 1000 / ITL(c)} tokens
 * per second.
 *
 * <p>Immutable and thread-safe.
 */
public final class CapacityModel {

    private final CapacityProfile profile;
    private final double prefillFactor;
    private final double decodeFactor;
    private final double[] prefillLen;
    private final double[][] prefillTtft; // [point][p50, p90, p99]
    private final double[] contexts;
    private final List<double[]> concurrencies = new ArrayList<>(); // per context: concurrency per node
    private final List<double[][]> itls = new ArrayList<>(); // per context: [point][p50, p90, p99], non-decreasing

    public CapacityModel(CapacityProfile profile) {
        this(profile, 1, 1);
    }

    private CapacityModel(CapacityProfile profile, double prefillFactor, double decodeFactor) {
        this.profile = profile;
        this.prefillFactor = prefillFactor;
        this.decodeFactor = decodeFactor;
        List<CapacityProfile.PrefillPoint> pp = profile.prefill();
        prefillLen = new double[pp.size()];
        prefillTtft = new double[pp.size()][];
        for (int i = 0; i < pp.size(); i++) {
            prefillLen[i] = pp.get(i).inputTokens();
            CapacityProfile.Latency l = pp.get(i).ttftMs();
            prefillTtft[i] = new double[] {l.p50(), l.p90(), l.p99()};
        }
        TreeMap<Integer, List<CapacityProfile.DecodePoint>> byContext = new TreeMap<>();
        for (CapacityProfile.DecodePoint d : profile.decode()) {
            byContext.computeIfAbsent(d.contextTokens(), k -> new ArrayList<>()).add(d);
        }
        contexts = new double[byContext.size()];
        int i = 0;
        for (var e : byContext.entrySet()) {
            contexts[i++] = e.getKey();
            List<CapacityProfile.DecodePoint> ds = e.getValue();
            double[] c = new double[ds.size()];
            double[][] itl = new double[ds.size()][];
            double[] running = {0, 0, 0};
            for (int j = 0; j < ds.size(); j++) {
                c[j] = ds.get(j).concurrency() / (double) profile.nodes();
                CapacityProfile.Latency l = ds.get(j).itlMs();
                // More streams never make a token faster: a dip in the measurements is noise.
                running = new double[] {Math.max(running[0], l.p50()), Math.max(running[1], l.p90()), Math.max(running[2], l.p99())};
                itl[j] = running;
            }
            concurrencies.add(c);
            itls.add(itl);
        }
    }

    public CapacityProfile profile() {
        return profile;
    }

    /** Observed over profiled prefill time (1: as profiled). */
    public double prefillFactor() {
        return prefillFactor;
    }

    /** Observed over profiled inter-token latency (1: as profiled). */
    public double decodeFactor() {
        return decodeFactor;
    }

    /** This model with other correction factors. */
    public CapacityModel corrected(double prefill, double decode) {
        return new CapacityModel(profile, prefill, decode);
    }

    // ---- prefill

    /** Prefill time of a prompt of {@code tokens} tokens alone on a node, ms, at percentile {@code q}, corrected. */
    public double prefillMs(double tokens, double q) {
        return prefillFactor * Math.max(1e-3, interpolate(prefillLen, prefillTtft, Math.max(1, tokens), q));
    }

    /** The {@code q}-quantile of the M/M/1 wait at utilization {@code rho} with mean service {@code meanMs}. */
    static double waitMs(double rho, double meanMs, double q) {
        return waitMs(1, rho, meanMs, q, 1);
    }

    /**
     * The {@code q}-quantile of the wait in an M/G/k queue of {@code servers} nodes at utilization {@code rho}
     * each, mean service {@code meanMs}, squared coefficient of variation {@code cs2} of the service time: a
     * request waits with probability Erlang's C, then for an exponential time whose mean makes the overall mean
     * wait the M/M/k one times {@code (1 + cs2) / 2} (Allen-Cunneen; exact for M/M/k with {@code cs2 = 1}, and
     * for one server it is the Pollaczek-Khinchine mean).
     */
    static double waitMs(int servers, double rho, double meanMs, double q, double cs2) {
        if (rho <= 0) {
            return 0;
        }
        if (rho >= 1) {
            return Double.POSITIVE_INFINITY;
        }
        double c = erlangC(servers, rho);
        return (1 + cs2) / 2 * Math.max(0, Math.log(c / (1 - q))) * meanMs / (servers * (1 - rho));
    }

    /** Erlang's C: the chance that a request waits in an M/M/k queue of {@code k} servers at utilization {@code rho}. */
    static double erlangC(int k, double rho) {
        double a = k * rho;
        double b = 1; // Erlang's B, by its recursion (stable for any k)
        for (int i = 1; i <= k; i++) {
            b = a * b / (i + a * b);
        }
        return b / (1 - rho * (1 - b));
    }

    /**
     * The squared coefficient of variation of prefill times under {@code load}: from the spread of effective
     * prompt lengths (the percentile length against the mean, as if normal) and the profile's own spread of
     * TTFT at one length, never below 0.1 (prefill times are never perfectly regular).
     */
    double prefillCs2(Load load, double q) {
        double mean = prefillMs(load.effectivePromptTokens(), 0.5);
        double z = Math.max(0.5, normalQuantile(q));
        double byLength = (prefillMs(load.effectivePromptTokensHi(), 0.5) - mean) / z;
        double byNoise = (prefillMs(load.effectivePromptTokens(), q) - mean) / z;
        double sd2 = byLength * byLength + byNoise * byNoise;
        return Math.max(0.1, Math.min(4, sd2 / (mean * mean)));
    }

    /** An approximation of the standard normal quantile, good to 1e-3 over (0.5, 0.999). */
    private static double normalQuantile(double q) {
        double t = Math.sqrt(-2 * Math.log(1 - q));
        return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    }

    /**
     * The highest utilization of one prefill node at which a request of the load's slow effective prompt
     * length meets {@code ttftMs} at percentile {@code q}, at most {@code maxUtilization}. When even an idle
     * node misses the objective it is the utilization at which the wait is no longer than the prompt's own
     * prefill time (more nodes then only shorten the queue). One node; see {@link #prefillUtilization(Load,
     * double, double, double, int)} for a pool.
     */
    public double prefillUtilization(Load load, double ttftMs, double q, double maxUtilization) {
        return prefillUtilization(load, ttftMs, q, maxUtilization, 1);
    }

    /**
     * As {@link #prefillUtilization(Load, double, double, double)}, for each node of a pool of {@code nodes}: the
     * router sends a prompt to the node with the least queued work, so the pool queues like one M/G/k queue and a
     * larger pool runs each node busier for the same wait.
     */
    public double prefillUtilization(Load load, double ttftMs, double q, double maxUtilization, int nodes) {
        double mean = prefillMs(load.effectivePromptTokens(), 0.5);
        double slow = prefillMs(load.effectivePromptTokensHi(), q);
        double budget = ttftMs - slow;
        if (budget <= 0) {
            budget = slow;
        }
        double cs2 = prefillCs2(load, q);
        int k = Math.max(1, nodes);
        double lo = 0;
        double hi = maxUtilization;
        if (waitMs(k, hi, mean, q, cs2) <= budget) {
            return hi;
        }
        for (int i = 0; i < 50; i++) {
            double mid = (lo + hi) / 2;
            if (waitMs(k, mid, mean, q, cs2) <= budget) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return Math.max(lo, 0.01);
    }

    /** Whether a prompt of the load's slow effective length alone on a node meets {@code ttftMs}. */
    public boolean prefillReachable(Load load, double ttftMs, double q) {
        return prefillMs(load.effectivePromptTokensHi(), q) <= ttftMs;
    }

    /** Effective prompt tokens per second one prefill node computes while meeting the TTFT objective (alone). */
    public double prefillTokensPerSecond(Load load, double ttftMs, double q, double maxUtilization) {
        return prefillTokensPerSecond(load, ttftMs, q, maxUtilization, 1);
    }

    /** Effective prompt tokens per second each node of a pool of {@code nodes} computes while meeting the TTFT objective. */
    public double prefillTokensPerSecond(Load load, double ttftMs, double q, double maxUtilization, int nodes) {
        double len = Math.max(1, load.effectivePromptTokens());
        return prefillUtilization(load, ttftMs, q, maxUtilization, nodes) * len * 1000 / prefillMs(len, 0.5);
    }

    /**
     * Prefill nodes the load needs at the TTFT objective, fractional: {@code k - 1 + f} where {@code k} is the
     * smallest pool whose capacity ({@code k} times its per-node capacity) covers the load and {@code f} the
     * share of the step from {@code k - 1} to {@code k} nodes' capacity the load uses; 0 with no load.
     */
    public double prefillNodes(Load load, double ttftMs, double q, double maxUtilization) {
        double need = load.effectivePromptTokensPerSecond();
        if (!(need > 0)) {
            return 0;
        }
        int hi = 1;
        while (hi * prefillTokensPerSecond(load, ttftMs, q, maxUtilization, hi) < need) {
            if (hi >= 1 << 20) {
                return need / prefillTokensPerSecond(load, ttftMs, q, maxUtilization, hi);
            }
            hi *= 2;
        }
        int lo = hi / 2; // lo nodes fall short (0 when hi is 1)
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (mid * prefillTokensPerSecond(load, ttftMs, q, maxUtilization, mid) < need) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        double below = lo == 0 ? 0 : lo * prefillTokensPerSecond(load, ttftMs, q, maxUtilization, lo);
        double at = hi * prefillTokensPerSecond(load, ttftMs, q, maxUtilization, hi);
        return lo + Math.max(0, Math.min(1, (need - below) / (at - below)));
    }

    /**
     * The TTFT at percentile {@code q} expected for the load spread over {@code nodes} prefill nodes (one M/G/k
     * queue, as the router balances them); infinite when they cannot keep up, 0 with no load.
     */
    public double expectedTtftMs(Load load, int nodes, double q) {
        if (load.idle()) {
            return 0;
        }
        if (nodes < 1) {
            return Double.POSITIVE_INFINITY;
        }
        double len = Math.max(1, load.effectivePromptTokens());
        double mean = prefillMs(len, 0.5);
        double rho = load.requestRate() / nodes * mean / 1000;
        return prefillMs(load.effectivePromptTokensHi(), q) + waitMs(nodes, rho, mean, q, prefillCs2(load, q));
    }

    // ---- decode

    /** Inter-token latency, ms, of {@code streams} streams per node on {@code context} tokens, at percentile {@code q}, corrected. */
    public double itlMs(double streams, double context, double q) {
        int hi = 0;
        while (hi < contexts.length && contexts[hi] < context) {
            hi++;
        }
        double v;
        if (contexts.length == 1) {
            v = itlAt(0, streams, q);
        } else {
            int a = Math.max(0, Math.min(contexts.length - 2, hi - 1));
            double ya = itlAt(a, streams, q);
            double yb = itlAt(a + 1, streams, q);
            double t = (context - contexts[a]) / (contexts[a + 1] - contexts[a]);
            // Below the smallest profiled context the ITL is that of the smallest (no extrapolation downwards).
            v = context <= contexts[0] ? ya : ya + (yb - ya) * t;
            v = Math.max(v, Math.min(ya, yb));
        }
        return decodeFactor * Math.max(1e-3, v);
    }

    private double itlAt(int context, double streams, double q) {
        double[] c = concurrencies.get(context);
        return interpolate(c, itls.get(context), Math.max(c[0] > 1 ? 1 : c[0], streams), q);
    }

    /**
     * The most streams one decode node runs while their ITL at percentile {@code q} meets {@code itlMs}, at
     * the given context; at least 1 (a node always decodes one stream, even above the objective).
     */
    public double decodeStreams(double context, double itlMs, double q) {
        double maxC = 0;
        for (double[] c : concurrencies) {
            maxC = Math.max(maxC, c[c.length - 1]);
        }
        double lo = 1;
        double hi = Math.max(2, 4 * maxC); // extrapolate at most 4x past the profile
        if (itlMs(lo, context, q) > itlMs) {
            return 1;
        }
        if (itlMs(hi, context, q) <= itlMs) {
            return hi;
        }
        for (int i = 0; i < 50; i++) {
            double mid = (lo + hi) / 2;
            if (itlMs(mid, context, q) <= itlMs) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Whether one stream alone on a node meets {@code itlMs} at this context. */
    public boolean decodeReachable(double context, double itlMs, double q) {
        return itlMs(1, context, q) <= itlMs;
    }

    /** Output tokens per second one decode node generates while meeting the ITL objective. */
    public double decodeTokensPerSecond(Load load, double itlMs, double q) {
        double ctx = Math.max(1, load.contextTokens());
        double c = decodeStreams(ctx, itlMs, q);
        return c * 1000 / itlMs(c, ctx, 0.5);
    }

    /**
     * The ITL at percentile {@code q} expected for the load spread over {@code nodes} decode nodes: the
     * streams each node must run to generate its share of output tokens, found on the profile.
     */
    public double expectedItlMs(Load load, int nodes, double q) {
        if (load.idle()) {
            return 0;
        }
        if (nodes < 1) {
            return Double.POSITIVE_INFINITY;
        }
        double ctx = Math.max(1, load.contextTokens());
        double perNode = load.outputTokensPerSecond() / nodes;
        double lo = 0;
        double hi = 1;
        while (hi * 1000 / itlMs(Math.max(1, hi), ctx, 0.5) < perNode && hi < 1e6) {
            hi *= 2;
        }
        for (int i = 0; i < 50; i++) {
            double mid = (lo + hi) / 2;
            if (mid * 1000 / itlMs(Math.max(1, mid), ctx, 0.5) < perNode) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return itlMs(Math.max(1, hi), ctx, q);
    }

    // ---- interpolation

    /** Piecewise linear in x over sorted xs (percentile q of each point), extrapolated from the end segments. */
    private static double interpolate(double[] xs, double[][] ys, double x, double q) {
        int n = xs.length;
        if (n == 1) {
            // One point: proportional to x from the origin (prefill) or flat (decode at one concurrency).
            return at(ys[0], q) * (xs[0] > 1 ? Math.max(x, 1) / xs[0] : 1);
        }
        int i = 1;
        while (i < n - 1 && xs[i] < x) {
            i++;
        }
        double x0 = xs[i - 1];
        double x1 = xs[i];
        double y0 = at(ys[i - 1], q);
        double y1 = at(ys[i], q);
        double y = y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        if (x < x0) {
            // Below the first point: scale down towards the first point's value, not below a fifth of it.
            return Math.max(y0 * 0.2, Math.min(y0, y));
        }
        return Math.max(y, Math.min(y0, y1));
    }

    private static double at(double[] p, double q) {
        return new CapacityProfile.Latency(p[0], p[1], p[2]).at(q);
    }
}
