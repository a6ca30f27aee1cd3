package dev.baton.bench.serve.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Service level objectives a request must meet to count towards goodput, in milliseconds;
 * {@code NaN} means "not set". A request meets the SLO when it completed and each set objective holds
 * with {@code <=}; a request with fewer than two output tokens has no TPOT and so meets any TPOT
 * objective (as in vLLM's benchmark).
 *
 * @param ttftMs time to first token
 * @param tpotMs time per output token
 * @param e2eMs end-to-end latency
 */
public record Slo(double ttftMs, double tpotMs, double e2eMs) {

    /** No objectives: every completed request meets it, and goodput is not reported. */
    public static final Slo NONE = new Slo(Double.NaN, Double.NaN, Double.NaN);

    /** Whether no objective is set. */
    public boolean isEmpty() {
        return Double.isNaN(ttftMs) && Double.isNaN(tpotMs) && Double.isNaN(e2eMs);
    }

    /** Whether a request with these figures meets every set objective. */
    public boolean meets(boolean ok, double ttft, double tpot, double e2e) {
        return ok && within(ttft, ttftMs) && within(tpot, tpotMs) && within(e2e, e2eMs);
    }

    private static boolean within(double value, double limit) {
        // An undefined figure (TPOT with one output token) cannot break an objective.
        return Double.isNaN(limit) || Double.isNaN(value) || value <= limit;
    }

    /**
     * Parses {@code ttft=500ms,tpot=50ms,e2e=2s}: keys {@code ttft}, {@code tpot}, {@code e2e}; values with
     * unit {@code us}, {@code ms} or {@code s} (milliseconds when none). An empty string is {@link #NONE}.
     *
     * @throws IllegalArgumentException naming the bad entry
     */
    public static Slo parse(String spec) {
        double ttft = Double.NaN;
        double tpot = Double.NaN;
        double e2e = Double.NaN;
        if (spec == null || spec.isBlank()) {
            return NONE;
        }
        for (String part : spec.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--slo: \"" + p + "\" is not KEY=VALUE (e.g. ttft=500ms,tpot=50ms)");
            }
            String key = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            double ms = parseMillis(p.substring(eq + 1).trim(), "--slo " + key);
            switch (key) {
                case "ttft" -> ttft = ms;
                case "tpot" -> tpot = ms;
                case "e2e", "e2el" -> e2e = ms;
                default -> throw new IllegalArgumentException("--slo: unknown objective \"" + key + "\" (expected ttft, tpot or e2e)");
            }
        }
        return new Slo(ttft, tpot, e2e);
    }

    /**
     * Parses a duration such as {@code 500ms}, {@code 2s}, {@code 250us} or {@code 40} (milliseconds) into
     * milliseconds; it must be positive.
     *
     * @param what names the option in the error message
     */
    public static double parseMillis(String value, String what) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        double scale = 1;
        String num = v;
        if (v.endsWith("ms")) {
            num = v.substring(0, v.length() - 2);
        } else if (v.endsWith("us")) {
            num = v.substring(0, v.length() - 2);
            scale = 1e-3;
        } else if (v.endsWith("s")) {
            num = v.substring(0, v.length() - 1);
            scale = 1e3;
        }
        double d;
        try {
            d = Double.parseDouble(num.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": \"" + value + "\" is not a duration (e.g. 500ms, 2s)");
        }
        if (!(d > 0) || Double.isInfinite(d)) {
            throw new IllegalArgumentException(what + ": \"" + value + "\" must be a positive duration");
        }
        return d * scale;
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        if (!Double.isNaN(ttftMs)) {
            parts.add("ttft=" + fmt(ttftMs) + "ms");
        }
        if (!Double.isNaN(tpotMs)) {
            parts.add("tpot=" + fmt(tpotMs) + "ms");
        }
        if (!Double.isNaN(e2eMs)) {
            parts.add("e2e=" + fmt(e2eMs) + "ms");
        }
        return String.join(",", parts);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
