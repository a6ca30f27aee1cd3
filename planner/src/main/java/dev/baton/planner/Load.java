package dev.baton.planner;

/**
 * Load over an interval, measured or predicted: never negative, never NaN (zero traffic is zero load).
 * Lengths are per request; with no requests they carry the last known lengths (a rate of zero makes them
 * cost nothing).
 *
 * @param requestRate             requests per second
 * @param promptTokens            mean prompt length
 * @param effectivePromptTokens   mean prompt length minus tokens reused from a prefix cache
 * @param effectivePromptTokensHi effective prompt length at the objective's percentile (the slow requests)
 * @param outputTokens            mean generated tokens per request
 */
public record Load(double requestRate, double promptTokens, double effectivePromptTokens, double effectivePromptTokensHi,
        double outputTokens) {

    public static final Load ZERO = new Load(0, 0, 0, 0, 0);

    public Load {
        requestRate = clean(requestRate);
        promptTokens = clean(promptTokens);
        effectivePromptTokens = Math.min(clean(effectivePromptTokens), promptTokens > 0 ? promptTokens : Double.MAX_VALUE);
        effectivePromptTokensHi = Math.max(clean(effectivePromptTokensHi), effectivePromptTokens);
        outputTokens = clean(outputTokens);
    }

    private static double clean(double v) {
        return Double.isFinite(v) && v > 0 ? v : 0;
    }

    /** Prompt tokens per second the prefill pool must compute. */
    public double effectivePromptTokensPerSecond() {
        return requestRate * effectivePromptTokens;
    }

    /** Output tokens per second the decode pool must generate. */
    public double outputTokensPerSecond() {
        return requestRate * outputTokens;
    }

    /** The mean context a decoding request attends over: its prompt and half its output. */
    public double contextTokens() {
        return promptTokens + outputTokens / 2;
    }

    /** This load at another request rate, the same lengths. */
    public Load withRate(double rate) {
        return new Load(rate, promptTokens, effectivePromptTokens, effectivePromptTokensHi, outputTokens);
    }

    /** Whether any request arrives. */
    public boolean idle() {
        return requestRate == 0;
    }

    /** This load with the lengths of {@code other} where this one saw no requests. */
    public Load withLengthsOf(Load other) {
        if (!idle() || other.idle() && other.promptTokens == 0) {
            return this;
        }
        return new Load(requestRate, other.promptTokens, other.effectivePromptTokens, other.effectivePromptTokensHi,
                other.outputTokens);
    }
}
