package dev.baton.bench.plan;

import dev.baton.planner.CapacityModel;
import dev.baton.planner.Load;
import dev.baton.planner.Objectives;
import dev.baton.planner.RequestTrace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Request traces for the simulator ({@code bin/baton bench trace}), generated with a seeded random number
 * generator so that the same arguments give the same file.
 *
 * <p>Arrivals are a Poisson process whose rate follows a {@link Shape} of the peak rate (thinning). Lengths
 * come from a {@link Mix}: prompt and output lengths log-normal around a median, clipped to the model's
 * context; a prefix-heavy mix serves most of each prompt from a prefix cache ({@code cached > 0}).
 *
 * <p>The peak rate can be derived from a capacity profile ({@link #peakRate}): the rate at which the busier
 * pool needs {@code peakNodes} nodes at the objectives, so that a trace needs several nodes per pool whatever
 * the measured machine.
 */
public final class TraceGenerator {

    /** Most tokens of prompt and output together (the demo model's context is 1024). */
    public static final int MAX_CONTEXT = 1000;

    /** How the arrival rate changes over the trace, as a share of the peak rate. */
    public enum Shape {
        /** The peak rate throughout. */
        STEADY,
        /** One day compressed into the trace: 10% of the peak at the start and end, the peak in the middle. */
        DIURNAL,
        /** 25% of the peak, with bursts at the peak lasting 2 minutes every 10 minutes. */
        BURSTS;

        /** The rate at {@code t} seconds of a trace of {@code durationS}, as a share of the peak. */
        public double share(double t, double durationS) {
            return switch (this) {
                case STEADY -> 1;
                case DIURNAL -> 0.1 + 0.9 * (1 - Math.cos(2 * Math.PI * t / durationS)) / 2;
                case BURSTS -> {
                    double inCycle = (t + 300) % 600; // the first burst at 5 minutes
                    yield inCycle >= 600 - 120 ? 1 : 0.25;
                }
            };
        }
    }

    /**
     * Request lengths: medians of the log-normal prompt and output lengths and the share of a prompt served
     * from a prefix cache (for {@code cachedRequests} of the requests).
     */
    public enum Mix {
        BALANCED(256, 96, 0, 0),
        PROMPT_HEAVY(448, 24, 0, 0),
        DECODE_HEAVY(96, 320, 0, 0),
        PREFIX_HEAVY(560, 96, 0.75, 0.85);

        final int promptMedian;
        final int outputMedian;
        final double cachedShare;
        final double cachedRequests;

        Mix(int promptMedian, int outputMedian, double cachedShare, double cachedRequests) {
            this.promptMedian = promptMedian;
            this.outputMedian = outputMedian;
            this.cachedShare = cachedShare;
            this.cachedRequests = cachedRequests;
        }

        /** One request's lengths {prompt, cached, output}. */
        int[] sample(SplittableRandom rnd) {
            int prompt = (int) Math.round(logNormal(rnd, promptMedian, 0.5));
            prompt = Math.max(8, Math.min(MAX_CONTEXT - 16, prompt));
            int output = (int) Math.round(logNormal(rnd, outputMedian, 0.6));
            output = Math.max(1, Math.min(MAX_CONTEXT - prompt, output));
            int cached = rnd.nextDouble() < cachedRequests ? (int) Math.floor(prompt * cachedShare) : 0;
            return new int[] {prompt, cached, output};
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** One trace to generate. */
    public record Spec(String name, Shape shape, Mix mix, double durationS, double peakRate, long seed) {
        public Spec {
            if (!(durationS > 0) || !(peakRate > 0)) {
                throw new IllegalArgumentException("trace " + name + ": duration " + durationS + " s and peak rate " + peakRate
                        + " req/s must be positive");
            }
        }
    }

    private TraceGenerator() {}

    private static double logNormal(SplittableRandom rnd, double median, double sigma) {
        return median * Math.exp(sigma * gaussian(rnd));
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = Math.max(1e-12, rnd.nextDouble());
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** The requests of one trace, sorted by arrival. */
    public static List<RequestTrace.Entry> generate(Spec spec) {
        SplittableRandom rnd = new SplittableRandom(spec.seed());
        List<RequestTrace.Entry> out = new ArrayList<>();
        double t = 0;
        int guard = 0;
        while (guard++ < 50_000_000) {
            t += -Math.log(1 - rnd.nextDouble()) / spec.peakRate();
            if (t >= spec.durationS()) {
                break;
            }
            if (rnd.nextDouble() < spec.shape().share(t, spec.durationS())) {
                int[] l = spec.mix().sample(rnd);
                out.add(new RequestTrace.Entry(t, l[0], l[1], l[2], Double.NaN, Double.NaN));
            }
        }
        return out;
    }

    /** The mean load of one request of the mix: rate 1, mean lengths, effective prompt at {@code quantile}. */
    public static Load unitLoad(Mix mix, double quantile, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 20_000;
        double[] eff = new double[n];
        double prompt = 0;
        double output = 0;
        for (int i = 0; i < n; i++) {
            int[] l = mix.sample(rnd);
            prompt += l[0];
            eff[i] = l[0] - l[1];
            output += l[2];
        }
        Arrays.sort(eff);
        double mean = Arrays.stream(eff).average().orElse(0);
        return new Load(1, prompt / n, mean, eff[Math.min(n - 1, (int) Math.ceil(quantile * n) - 1)], output / n);
    }

    /**
     * The request rate at which the busier pool needs {@code peakNodes} nodes of the profile at the objectives
     * for this mix.
     */
    public static double peakRate(CapacityModel model, Objectives o, double maxUtilization, Mix mix, int peakNodes) {
        Load unit = unitLoad(mix, o.quantile(), 1);
        double decodeRate = peakNodes * model.decodeTokensPerSecond(unit, o.itlMs(), o.quantile()) / unit.outputTokens();
        double prefillRate = peakNodes * model.prefillTokensPerSecond(unit, o.ttftMs(), o.quantile(), maxUtilization, peakNodes)
                / unit.effectivePromptTokens();
        return Math.min(prefillRate, decodeRate);
    }

    /**
     * The standard set: diurnal with each mix, steady and bursts with the balanced mix; the peak rate of each
     * sized with {@link #peakRate}.
     */
    public static List<Spec> standard(CapacityModel model, Objectives o, double maxUtilization, double durationS, int peakNodes,
            long seed) {
        List<Spec> out = new ArrayList<>();
        Object[][] set = {
            {"diurnal", Shape.DIURNAL, Mix.BALANCED},
            {"diurnal-prompt-heavy", Shape.DIURNAL, Mix.PROMPT_HEAVY},
            {"diurnal-decode-heavy", Shape.DIURNAL, Mix.DECODE_HEAVY},
            {"diurnal-prefix-heavy", Shape.DIURNAL, Mix.PREFIX_HEAVY},
            {"bursts", Shape.BURSTS, Mix.BALANCED},
            {"steady", Shape.STEADY, Mix.BALANCED},
        };
        for (int i = 0; i < set.length; i++) {
            Mix mix = (Mix) set[i][2];
            out.add(new Spec((String) set[i][0], (Shape) set[i][1], mix, durationS,
                    peakRate(model, o, maxUtilization, mix, peakNodes), seed + i));
        }
        return out;
    }
}
