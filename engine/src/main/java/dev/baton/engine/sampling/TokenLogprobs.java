package dev.baton.engine.sampling;

/**
 * The log-probabilities reported for one sampled token: the token's own and the {@link #topCount()}
 * most likely tokens', in descending order (ties: lower id first), natural log.
 *
 * <p>They are the log-softmax of the logits <em>after</em> the repetition, frequency and presence
 * penalties and <em>before</em> temperature, top-k, top-p and min-p, so they do not depend on the
 * truncation settings (a token cut by top-p still has its model probability).
 *
 * <p>Owned and overwritten by one {@link Sampler}: the values are valid until its next
 * {@code sample} call; copy them out to keep them. Not thread-safe.
 */
public final class TokenLogprobs {

    private final int[] topIds;
    private final float[] topLogprobs;
    private int topCount;
    private int token = -1;
    private float logprob = Float.NaN;

    TokenLogprobs(int capacity) {
        topIds = new int[capacity];
        topLogprobs = new float[capacity];
    }

    /** The sampled token. */
    public int token() {
        return token;
    }

    /** The sampled token's logprob. */
    public float logprob() {
        return logprob;
    }

    /** How many top entries there are: the requested n, or the vocabulary size if smaller. */
    public int topCount() {
        return topCount;
    }

    /** The id of the {@code i}-th most likely token. */
    public int topId(int i) {
        java.util.Objects.checkIndex(i, topCount);
        return topIds[i];
    }

    /** The logprob of the {@code i}-th most likely token. */
    public float topLogprob(int i) {
        java.util.Objects.checkIndex(i, topCount);
        return topLogprobs[i];
    }

    void set(int token, float logprob) {
        this.token = token;
        this.logprob = logprob;
    }

    int[] ids() {
        return topIds;
    }

    float[] values() {
        return topLogprobs;
    }

    void topCount(int n) {
        topCount = n;
    }
}
