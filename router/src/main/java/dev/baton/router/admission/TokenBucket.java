package dev.baton.router.admission;

/**
 * A token bucket: holds up to {@code capacity} tokens, refilled continuously at {@code perSecond}; a
 * request of {@code n} tokens passes when the bucket holds {@code n}. Used for an API key's requests per
 * second (one token per request) and tokens per minute (prompt plus {@code max_tokens} per request).
 *
 * <p>Not thread-safe: its owner ({@link AdmissionControl}) guards it. Time is given by the caller, in
 * {@link System#nanoTime()} nanoseconds, so that tests need no clock.
 */
public final class TokenBucket {

    private final double capacity;
    private final double perNano;
    private double tokens;
    private long lastNanos;

    /**
     * A full bucket.
     *
     * @param capacity  the most tokens it holds (the burst), > 0
     * @param perSecond tokens added per second, > 0
     * @param nowNanos  the time it is created at
     */
    public TokenBucket(double capacity, double perSecond, long nowNanos) {
        if (!(capacity > 0) || !(perSecond > 0)) {
            throw new IllegalArgumentException("a token bucket needs capacity > 0 and a rate > 0, not " + capacity
                    + " and " + perSecond + "/s");
        }
        this.capacity = capacity;
        this.perNano = perSecond / 1e9;
        this.tokens = capacity;
        this.lastNanos = nowNanos;
    }

    /**
     * How long until {@code amount} tokens are there: 0 when they are now, {@link Long#MAX_VALUE} when
     * {@code amount} is more than the bucket ever holds. Takes nothing.
     */
    public long waitNanos(double amount, long nowNanos) {
        refill(nowNanos);
        if (amount > capacity) {
            return Long.MAX_VALUE;
        }
        if (tokens >= amount) {
            return 0;
        }
        return (long) Math.ceil((amount - tokens) / perNano);
    }

    /** Takes {@code amount} tokens; the caller checked {@link #waitNanos} first (the bucket never goes below 0). */
    public void take(double amount, long nowNanos) {
        refill(nowNanos);
        tokens = Math.max(0, tokens - amount);
    }

    /** Gives {@code amount} tokens back (taken for a request that used less), up to the capacity. */
    public void giveBack(double amount, long nowNanos) {
        refill(nowNanos);
        tokens = Math.min(capacity, tokens + Math.max(0, amount));
    }

    /** Tokens in the bucket at {@code nowNanos}. */
    public double available(long nowNanos) {
        refill(nowNanos);
        return tokens;
    }

    public double capacity() {
        return capacity;
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(capacity, tokens + elapsed * perNano);
            lastNanos = nowNanos;
        }
    }
}
