package dev.baton.planner;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code baton.planner}, read once and checked: every key is described in this module's
 * {@code reference.conf}. A bad value is refused with a {@link PlannerConfigException} naming the key.
 *
 * @param profile   the capacity profile; null when {@code mode = off}
 * @param bounds    per pool; a pool with {@code max = 0} is not planned
 * @param predictor the {@code predictor} block (kind and its parameters)
 * @param backlogHorizon the time within which requests already waiting at a pool should be served (zero: the
 *                       backlog is not sized for)
 * @param traceFile where finished requests are appended (JSONL), or null
 */
public record PlannerSettings(Mode mode, String connector, Path profile, Duration interval, Objectives objectives,
        Map<Pool, Bounds> bounds, int nodeBudget, int maxStep, Duration scaleUpWindow, Duration scaleUpCooldown,
        Duration scaleDownWindow, Duration scaleDownCooldown, Duration pendingTimeout, Config predictor,
        Correction correction, double maxUtilization, Duration backlogHorizon, Path traceFile) {

    /** The size range of one pool. */
    public record Bounds(int min, int max) {
        public Bounds {
            if (min < 0 || max < min) {
                throw new IllegalArgumentException("min " + min + " and max " + max + " must satisfy 0 <= min <= max");
            }
        }

        public int clamp(int n) {
            return Math.max(min, Math.min(max, n));
        }

        /** Whether the planner sizes this pool. */
        public boolean planned() {
            return max > 0;
        }
    }

    /**
     * How observed latency corrects the profile.
     *
     * @param smoothing  weight of the newest interval's ratio (1: no smoothing)
     * @param minSamples requests an interval needs before its latencies count
     */
    public record Correction(double min, double max, double smoothing, int minSamples) {
        public Correction {
            if (!(min > 0) || !(max >= 1) || min > 1) {
                throw new IllegalArgumentException("need 0 < min <= 1 <= max, got min " + min + ", max " + max);
            }
            if (!(smoothing > 0 && smoothing <= 1)) {
                throw new IllegalArgumentException("smoothing " + smoothing + " must be in (0, 1]");
            }
            if (minSamples < 1) {
                throw new IllegalArgumentException("min-samples " + minSamples + " must be at least 1");
            }
        }

        /** The factor {@code previous * ratio}, smoothed and clamped; {@code previous} when ratio is not finite. */
        public double next(double previous, double ratio) {
            if (!(ratio > 0) || Double.isInfinite(ratio)) {
                return previous;
            }
            double target = Math.max(min, Math.min(max, previous * ratio));
            double f = Math.exp((1 - smoothing) * Math.log(previous) + smoothing * Math.log(target));
            return Math.max(min, Math.min(max, f));
        }
    }

    public static final String PATH = "baton.planner";

    /** Reads {@code baton.planner} from {@code root} (the whole configuration, reference.conf included). */
    public static PlannerSettings from(Config root) {
        Config c = root.getConfig(PATH);
        Mode mode = key("mode", () -> parseEnum(Mode.class, c.getString("mode"), "off, advise, act"));
        String connector = key("connector", () -> {
            String s = c.getString("connector").trim();
            if (!s.equals("local") && !s.equals("ssh") && !s.equals("kubernetes")) {
                throw new IllegalArgumentException("'" + s + "' is not one of local, ssh, kubernetes");
            }
            return s;
        });
        Path profile = key("profile", () -> {
            String p = c.getString("profile").trim();
            if (p.isEmpty()) {
                if (mode != Mode.OFF) {
                    throw new IllegalArgumentException("a capacity profile (bin/baton bench profile) is required when mode = "
                            + mode.name().toLowerCase(Locale.ROOT));
                }
                return null;
            }
            return Path.of(p);
        });
        Duration interval = key("interval", () -> positive(c.getDuration("interval")));
        Objectives objectives = key("objectives", () -> new Objectives(
                key("objectives.ttft", () -> (double) positive(c.getDuration("objectives.ttft")).toNanos() / 1e6),
                key("objectives.itl", () -> (double) positive(c.getDuration("objectives.itl")).toNanos() / 1e6),
                key("objectives.percentile", () -> c.getDouble("objectives.percentile"))));
        Map<Pool, Bounds> bounds = new EnumMap<>(Pool.class);
        for (Pool p : Pool.values()) {
            String k = "pools." + p.role();
            bounds.put(p, key(k, () -> new Bounds(key(k + ".min", () -> c.getInt(k + ".min")),
                    key(k + ".max", () -> c.getInt(k + ".max")))));
        }
        if (mode != Mode.OFF && bounds.values().stream().noneMatch(Bounds::planned)) {
            throw new PlannerConfigException(PATH + ".pools: every pool has max = 0; nothing to plan");
        }
        int budget = key("node-budget", () -> {
            int b = c.getInt("node-budget");
            int mins = bounds.values().stream().mapToInt(Bounds::min).sum();
            if (b < mins) {
                throw new IllegalArgumentException(b + " is less than the pools' minimums together (" + mins + ")");
            }
            return b;
        });
        int maxStep = key("max-step", () -> atLeast(c.getInt("max-step"), 1));
        Duration upWindow = key("scale-up.window", () -> notNegative(c.getDuration("scale-up.window")));
        Duration upCooldown = key("scale-up.cooldown", () -> notNegative(c.getDuration("scale-up.cooldown")));
        Duration downWindow = key("scale-down.window", () -> notNegative(c.getDuration("scale-down.window")));
        Duration downCooldown = key("scale-down.cooldown", () -> notNegative(c.getDuration("scale-down.cooldown")));
        Duration pending = key("pending-timeout", () -> positive(c.getDuration("pending-timeout")));
        Config predictor = key("predictor", () -> c.getConfig("predictor"));
        key("predictor", () -> LoadPredictors.create(predictor)); // refuse a bad predictor now, not at the first tick
        Correction correction = key("correction", () -> new Correction(key("correction.min", () -> c.getDouble("correction.min")),
                key("correction.max", () -> c.getDouble("correction.max")),
                key("correction.smoothing", () -> c.getDouble("correction.smoothing")),
                key("correction.min-samples", () -> c.getInt("correction.min-samples"))));
        double maxUtil = key("max-utilization", () -> {
            double u = c.getDouble("max-utilization");
            if (!(u > 0 && u < 1)) {
                throw new IllegalArgumentException(u + " must be in (0, 1)");
            }
            return u;
        });
        Duration backlog = key("backlog-horizon", () -> notNegative(c.getDuration("backlog-horizon")));
        Path trace = key("trace-file", () -> c.getString("trace-file").isBlank() ? null : Path.of(c.getString("trace-file").trim()));
        return new PlannerSettings(mode, connector, profile, interval, objectives, bounds, budget, maxStep, upWindow, upCooldown,
                downWindow, downCooldown, pending, predictor, correction, maxUtil, backlog, trace);
    }

    public PlannerSettings {
        bounds = Map.copyOf(bounds);
    }

    /** Whether the worker pool is planned instead of prefill and decode (a colocated cluster). */
    public boolean colocated() {
        return !bounds.get(Pool.PREFILL).planned() && !bounds.get(Pool.DECODE).planned() && bounds.get(Pool.WORKER).planned();
    }

    /** These settings with other objectives (for experiments and tests). */
    public PlannerSettings withObjectives(Objectives o) {
        return new PlannerSettings(mode, connector, profile, interval, o, bounds, nodeBudget, maxStep, scaleUpWindow,
                scaleUpCooldown, scaleDownWindow, scaleDownCooldown, pendingTimeout, predictor, correction, maxUtilization,
                backlogHorizon, traceFile);
    }

    /** These settings with other pool bounds and budget. */
    public PlannerSettings withBounds(Map<Pool, Bounds> b, int budget) {
        return new PlannerSettings(mode, connector, profile, interval, objectives, b, budget, maxStep, scaleUpWindow,
                scaleUpCooldown, scaleDownWindow, scaleDownCooldown, pendingTimeout, predictor, correction, maxUtilization,
                backlogHorizon, traceFile);
    }

    private interface Read<T> {
        T get();
    }

    private static <T> T key(String key, Read<T> read) {
        try {
            return read.get();
        } catch (PlannerConfigException e) {
            throw e;
        } catch (ConfigException e) {
            throw new PlannerConfigException(PATH + "." + key + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new PlannerConfigException(PATH + "." + key + ": " + e.getMessage(), e);
        }
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String value, String allowed) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + value + "' is not one of " + allowed, e);
        }
    }

    private static Duration positive(Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(d + " must be positive");
        }
        return d;
    }

    private static Duration notNegative(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException(d + " must not be negative");
        }
        return d;
    }

    private static int atLeast(int n, int min) {
        if (n < min) {
            throw new IllegalArgumentException(n + " must be at least " + min);
        }
        return n;
    }
}
