package dev.baton.planner;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What the planner tests share: a small capacity profile built in code, settings from HOCON over the
 * reference, observations made from a load, and a modelled cluster whose pools follow the decisions.
 *
 * <p>The profile: a prefill node takes {@code 10 ms + 0.1 ms per prompt token} (p90 10% above the median,
 * p99 20%); a decode node's inter-token latency is {@code 8 ms + c * (0.5 + context / 2048) ms} with
 * {@code c} streams (p90 +10%, p99 +20%). At the default objectives (TTFT 500 ms, ITL 50 ms at p90) a
 * node takes about 5.8 requests/s of 1000-token prompts, or about 4 requests/s of 200 output tokens.
 */
final class Synthetic {

    static final int[] PROMPTS = {128, 256, 512, 1024, 2048, 4096};
    static final int[] CONTEXTS = {512, 2048, 8192};
    static final int[] STREAMS = {1, 2, 4, 8, 16, 32};

    private Synthetic() {}

    static double prefillMs(double tokens) {
        return 10 + 0.1 * tokens;
    }

    static double itlMs(double streams, double context) {
        return 8 + streams * (0.5 + context / 2048.0);
    }

    static CapacityProfile.Latency spread(double median) {
        return new CapacityProfile.Latency(median, 1.1 * median, 1.2 * median);
    }

    static CapacityProfile profile() {
        List<CapacityProfile.PrefillPoint> prefill = new ArrayList<>();
        for (int l : PROMPTS) {
            prefill.add(new CapacityProfile.PrefillPoint(l, spread(prefillMs(l))));
        }
        List<CapacityProfile.DecodePoint> decode = new ArrayList<>();
        for (int ctx : CONTEXTS) {
            for (int c : STREAMS) {
                decode.add(new CapacityProfile.DecodePoint(c, ctx, spread(itlMs(c, ctx))));
            }
        }
        return new CapacityProfile("synthetic", 1, prefill, decode);
    }

    static CapacityModel model() {
        return new CapacityModel(profile());
    }

    /** {@code baton.planner} in advise mode with {@code hocon} (the inside of the block) over the reference. */
    static PlannerSettings settings(String hocon) {
        return PlannerSettings.from(ConfigFactory.parseString(
                "baton.planner { mode = advise, profile = \"synthetic-profile.json\" }\nbaton.planner {\n" + hocon + "\n}")
                .withFallback(ConfigFactory.defaultReference()).resolve());
    }

    /** A load of {@code rate} requests/s with {@code cached} of each prompt from a prefix cache; slow prompts 1.5x the mean. */
    static Load load(double rate, double prompt, double cached, double output) {
        double effective = prompt * (1 - cached);
        return new Load(rate, prompt, effective, 1.5 * effective, output);
    }

    static Summary constant(long n, double v) {
        return n == 0 ? Summary.EMPTY : new Summary(n, v, v, v, v, v);
    }

    /** The observation of one interval of {@code load} ending at {@code atMillis}; the slow prompts are the p90 and above. */
    static Observation observation(long atMillis, double seconds, Load load, Map<Pool, Integer> ready, Summary ttft, Summary itl) {
        return observation(atMillis, seconds, load, ready, Map.of(), ttft, itl);
    }

    /** As above, with {@code starting} nodes per pool seen in the cluster but not ready yet. */
    static Observation observation(long atMillis, double seconds, Load load, Map<Pool, Integer> ready, Map<Pool, Integer> starting,
            Summary ttft, Summary itl) {
        long n = Math.round(load.requestRate() * seconds);
        double eff = load.effectivePromptTokens();
        Summary effective = n == 0 ? Summary.EMPTY : new Summary(n, eff, eff, load.effectivePromptTokensHi(),
                load.effectivePromptTokensHi(), load.effectivePromptTokensHi());
        Map<Pool, Observation.PoolObservation> pools = new EnumMap<>(Pool.class);
        for (Map.Entry<Pool, Integer> e : ready.entrySet()) {
            pools.put(e.getKey(), new Observation.PoolObservation(e.getValue(), starting.getOrDefault(e.getKey(), 0), 0, 0, 0,
                    Double.NaN, 0));
        }
        return new Observation(atMillis, seconds, n, constant(n, load.promptTokens()), effective,
                constant(n, load.outputTokens()), ttft, itl, pools);
    }

    static Map<Pool, Integer> sizes(int prefill, int decode) {
        Map<Pool, Integer> m = new EnumMap<>(Pool.class);
        m.put(Pool.PREFILL, prefill);
        m.put(Pool.DECODE, decode);
        return m;
    }

    /**
     * A cluster whose pools follow the planner: a started node is ready {@code startupMs} later (never, with
     * {@link Long#MAX_VALUE}) and is reported as starting until then, a drained node leaves at once, an
     * abandoned one is stopped (as a connector does) and so no longer reported as starting.
     */
    static final class Cluster {
        final PlannerSettings settings;
        final CapacityModel model;
        final long startupMs;
        final Map<Pool, Integer> ready = new EnumMap<>(Pool.class);
        final Map<Pool, List<Long>> starting = new EnumMap<>(Pool.class);
        final List<Decision> decisions = new ArrayList<>();
        PlannerState state;
        long now;

        Cluster(PlannerSettings settings, long startupMs, Map<Pool, Integer> initial) {
            this.settings = settings;
            this.model = model();
            this.startupMs = startupMs;
            for (Pool p : Pool.values()) {
                ready.put(p, initial.getOrDefault(p, 0));
                starting.put(p, new ArrayList<>());
            }
            state = PlannerState.initial(settings);
        }

        Decision step(Load load) {
            return step(load, null, null);
        }

        /** One interval of {@code load}; {@code ttft} and {@code itl} (null: none measured) are the observed latencies. */
        Decision step(Load load, Summary ttft, Summary itl) {
            now += settings.interval().toMillis();
            for (Pool p : Pool.values()) {
                List<Long> st = starting.get(p);
                while (!st.isEmpty() && st.get(0) <= now) {
                    st.remove(0);
                    ready.merge(p, 1, Integer::sum);
                }
            }
            long n = Math.round(load.requestRate() * settings.interval().toMillis() / 1000.0);
            Map<Pool, Integer> seenStarting = new EnumMap<>(Pool.class);
            for (Pool p : Pool.values()) {
                seenStarting.put(p, starting.get(p).size());
            }
            Observation obs = observation(now, settings.interval().toMillis() / 1000.0, load, ready, seenStarting,
                    ttft == null ? Summary.EMPTY : ttft, itl == null ? Summary.EMPTY : itl);
            if (n == 0 && ttft != null) {
                throw new IllegalStateException("latencies without requests");
            }
            Decision d = Planner.tick(obs, model, settings, state);
            state = d.state();
            for (Map.Entry<Pool, Decision.PoolDecision> e : d.pools().entrySet()) {
                Pool p = e.getKey();
                Decision.PoolDecision pd = e.getValue();
                List<Long> st = starting.get(p);
                for (int i = 0; i < pd.abandoned() && !st.isEmpty(); i++) {
                    st.remove(0); // the oldest first: those are the ones that timed out
                }
                for (int i = 0; i < pd.start(); i++) {
                    st.add(startupMs == Long.MAX_VALUE ? Long.MAX_VALUE : now + startupMs);
                }
                ready.merge(p, -Math.min(pd.drain(), ready.get(p)), Integer::sum);
            }
            decisions.add(d);
            return d;
        }

        /** Ready and starting nodes of the pool. */
        int size(Pool p) {
            return ready.get(p) + starting.get(p).size();
        }
    }
}
