package dev.baton.router.admission;

/**
 * Predicts the time to first token of a new request from the prompt tokens queued before it and the
 * measured prefill speed: {@code (queued + prompt) / speed}.
 *
 * <p>Both are measured here, at the router, from what it sees: a request's prompt tokens join the queue
 * when it is admitted and leave it when its first token arrives (the prompt is computed), or when it
 * ends without one. The speed is the prompt tokens that left the queue computed, over the time the
 * queue was not empty ("busy"), both sums decayed by {@code decay} at every computed prompt so that the
 * estimate follows the cluster (nodes joining, leaving, other routers' load) within a few dozen
 * requests. It so covers everything between admission and the first token (routing, the nodes' queues,
 * chunked prefill batched with other requests, the handoff), which is what a client waits for. A
 * prompt served from the prefix cache counts whole: the speed is that of the workload as it comes.
 *
 * <p>Until {@code minTokens} prompt tokens were measured there is no prediction: admission then relies
 * on its bounds in requests and tokens only.
 *
 * <p>Not thread-safe: its owner ({@link AdmissionControl}) guards it. Times are {@link System#nanoTime()}.
 */
public final class TtftPredictor {

    private final double decay;
    private final long minTokens;
    private long queuedTokens;
    private long lastNanos;
    private double busyNanos; // decayed; up to the last computed prompt
    private long busySinceComputed; // busy time since the last computed prompt
    private double computedTokens; // decayed
    private long measuredTokens; // not decayed: how much the estimate rests on

    /**
     * @param decay     weight kept of the past at every computed prompt, in (0, 1]; 1 never forgets
     * @param minTokens prompt tokens measured before a prediction is made, >= 1
     */
    public TtftPredictor(double decay, long minTokens, long nowNanos) {
        if (!(decay > 0 && decay <= 1) || minTokens < 1) {
            throw new IllegalArgumentException("decay must be in (0, 1] and minTokens >= 1, not " + decay + " and "
                    + minTokens);
        }
        this.decay = decay;
        this.minTokens = minTokens;
        this.lastNanos = nowNanos;
    }

    /** A request of {@code tokens} prompt tokens was admitted: they wait to be computed. */
    public void admitted(long tokens, long nowNanos) {
        advance(nowNanos);
        queuedTokens += tokens;
    }

    /** The first token of a request of {@code tokens} prompt tokens arrived: its prompt is computed. */
    public void computed(long tokens, long nowNanos) {
        advance(nowNanos);
        queuedTokens = Math.max(0, queuedTokens - tokens);
        computedTokens = computedTokens * decay + tokens;
        busyNanos = busyNanos * decay + busySinceComputed;
        busySinceComputed = 0;
        measuredTokens += tokens;
    }

    /** A request ended before its first token (failed, cancelled): its tokens leave the queue uncomputed. */
    public void dropped(long tokens, long nowNanos) {
        advance(nowNanos);
        queuedTokens = Math.max(0, queuedTokens - tokens);
    }

    /** Prompt tokens admitted and not yet computed. */
    public long queuedTokens() {
        return queuedTokens;
    }

    /** Measured prefill speed in prompt tokens per second, or NaN before {@code minTokens} were measured. */
    public double tokensPerSecond(long nowNanos) {
        advance(nowNanos);
        if (measuredTokens < minTokens || busyNanos <= 0) {
            return Double.NaN;
        }
        return computedTokens / busyNanos * 1e9;
    }

    /**
     * The predicted time to first token of a request of {@code promptTokens} admitted now, in
     * nanoseconds, or -1 when the speed is not measured yet.
     */
    public long predictNanos(long promptTokens, long nowNanos) {
        double speed = tokensPerSecond(nowNanos);
        if (Double.isNaN(speed)) {
            return -1;
        }
        return (long) Math.min(Long.MAX_VALUE / 2.0, (queuedTokens + promptTokens) / speed * 1e9);
    }

    /**
     * How long until the queue has drained to {@code tokens} at the measured speed (0 if it is there, -1
     * when the speed is not measured yet).
     */
    public long drainNanos(long tokens, long nowNanos) {
        double speed = tokensPerSecond(nowNanos);
        if (Double.isNaN(speed)) {
            return -1;
        }
        return (long) Math.max(0, Math.min(Long.MAX_VALUE / 2.0, (queuedTokens - tokens) / speed * 1e9));
    }

    private void advance(long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            if (queuedTokens > 0) {
                busySinceComputed += elapsed;
            }
            lastNanos = nowNanos;
        }
    }
}
