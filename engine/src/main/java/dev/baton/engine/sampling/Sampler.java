package dev.baton.engine.sampling;

import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the next token of one sequence from its logits. One instance per sequence, owned by the
 * engine loop that decodes it; not thread-safe.
 *
 * <p>For each call of {@link #sample}, in this order (llama.cpp's default chain):
 * <ol>
 *   <li>copy the logits (the caller's array is never changed);</li>
 *   <li>repetition penalty over every distinct token of the prompt and the output (HF / llama.cpp
 *       style): a positive logit is divided by the penalty, a negative one multiplied;</li>
 *   <li>frequency and presence penalties over the output tokens (OpenAI style):
 *       {@code logit -= count * frequency + (count > 0 ? presence : 0)};</li>
 *   <li>if logprobs were asked for, the log-softmax of these logits gives them ({@link TokenLogprobs});</li>
 *   <li>temperature 0: argmax, ties to the lowest id. Otherwise: top-k, then top-p over the
 *       softmax of the top-k logits (the token that crosses p is kept), then min-p (tokens below
 *       min_p &times; the top probability dropped), then temperature, softmax and one draw.
 *       Top-p and min-p see the untempered distribution, as in llama.cpp (vLLM applies
 *       temperature first).</li>
 * </ol>
 *
 * <p><b>Randomness</b> is counter-based: the draw for the {@code k}-th output token (k = the number
 * of tokens passed to {@link #accept} so far) is the {@code k}-th {@code nextDouble()} of a
 * {@code SplittableRandom} seeded with the request's seed. So the same seed and logits give the same
 * tokens, and a sampler rebuilt on another node from the prompt and the tokens accepted so far
 * continues the same sequence of draws. Without a seed, a random one is picked at construction.
 *
 * <p><b>Allocation</b>: every work array is allocated in the constructor, sized by the vocabulary
 * capacity: 4 bytes per token, 4 more unless greedy without logprobs, 4 more with top-k or top-p,
 * 13 more with penalties. {@link #sample}, {@link #accept} and {@link #setPrompt} allocate nothing
 * (once the JIT has compiled the vector loops).
 *
 * <p><b>Cost</b>: the vocabulary-wide loops (max, exp, sums) are vectorized; top-k and top-p add one
 * scalar histogram pass and sort only the tokens of one histogram bucket, never the vocabulary.
 *
 * <p>Logits must not be NaN; {@code -Infinity} masks a token; at least one logit must be finite.
 */
public final class Sampler {

    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private static final byte IN_PROMPT = 1;
    private static final byte IN_OUTPUT = 2;
    /** Tokens per partial sum in the draw. */
    private static final int BLOCK = 1024;
    private static final int BUCKETS_PER_LOGIT = 32;
    private static final int BUCKET_COUNT = 1024;

    private final SamplingParams params;
    private final int capacity;
    private final long seed;
    /** The logits after penalties. */
    private final float[] x;
    /** Weights: exp of scaled logits (null when greedy without logprobs). */
    private final float[] w;
    private final double[] blockSums;
    /** Sort space for one histogram bucket (null without top-k or top-p). */
    private final int[] heap;
    private final int[] counts;
    private final double[] mass;
    /** Per token: IN_PROMPT | IN_OUTPUT (null without penalties). */
    private final byte[] seen;
    /** Per token: occurrences in the output (null without penalties). */
    private final int[] outputCount;
    /** Distinct tokens seen, in first-seen order (null without penalties). */
    private final int[] seenTokens;
    private int seenCount;
    private int generated;
    private final TokenLogprobs logprobs;
    /** The last token kept by top-k / top-p: keep x[i] > lastLogit, or == with i <= lastId. */
    private float lastLogit;
    private int lastId;

    /**
     * @param params        validated parameters
     * @param vocabCapacity the largest vocabulary size {@link #sample} will be called with
     */
    public Sampler(SamplingParams params, int vocabCapacity) {
        this.params = Objects.requireNonNull(params, "params");
        if (vocabCapacity < 1) {
            throw new IllegalArgumentException("vocabCapacity must be >= 1, got " + vocabCapacity);
        }
        this.capacity = vocabCapacity;
        this.seed = params.seed().isPresent() ? params.seed().getAsLong() : ThreadLocalRandom.current().nextLong();
        this.x = new float[vocabCapacity];
        boolean stochastic = !params.isGreedy();
        this.w = stochastic || params.logprobs().isPresent() ? new float[vocabCapacity] : null;
        this.blockSums = stochastic ? new double[(vocabCapacity + BLOCK - 1) / BLOCK] : null;
        boolean truncates = stochastic && (params.topK() != -1 && params.topK() < vocabCapacity || params.topP() < 1f);
        this.heap = truncates ? new int[vocabCapacity] : null;
        this.counts = truncates ? new int[BUCKET_COUNT] : null;
        this.mass = truncates ? new double[BUCKET_COUNT] : null;
        boolean penalties = params.hasPenalties();
        this.seen = penalties ? new byte[vocabCapacity] : null;
        this.outputCount = penalties ? new int[vocabCapacity] : null;
        this.seenTokens = penalties ? new int[vocabCapacity] : null;
        this.logprobs = params.logprobs().isPresent() ? new TokenLogprobs(params.logprobs().getAsInt()) : null;
    }

    public SamplingParams params() {
        return params;
    }

    /** The seed in use (the request's, or the one picked at construction). */
    public long seed() {
        return seed;
    }

    /** Output tokens accepted so far. */
    public int generatedCount() {
        return generated;
    }

    /**
     * Starts a sequence: forgets every earlier token and records the prompt (for the repetition
     * penalty). Tokens must be in {@code [0, vocabCapacity)}.
     */
    public void setPrompt(int[] tokens, int length) {
        Objects.checkFromIndexSize(0, length, tokens.length);
        reset();
        if (seen == null) {
            return;
        }
        for (int i = 0; i < length; i++) {
            int t = tokens[i];
            Objects.checkIndex(t, capacity);
            if (seen[t] == 0) {
                seenTokens[seenCount++] = t;
            }
            seen[t] |= IN_PROMPT;
        }
    }

    /** Records an output token (the one sampled, or one forced by the caller). */
    public void accept(int token) {
        Objects.checkIndex(token, capacity);
        generated++;
        if (seen == null) {
            return;
        }
        if (seen[token] == 0) {
            seenTokens[seenCount++] = token;
        }
        seen[token] |= IN_OUTPUT;
        outputCount[token]++;
    }

    /** Forgets the prompt and every output token; the seed is kept. */
    public void reset() {
        generated = 0;
        if (seen == null) {
            return;
        }
        for (int i = 0; i < seenCount; i++) {
            int t = seenTokens[i];
            seen[t] = 0;
            outputCount[t] = 0;
        }
        seenCount = 0;
    }

    /**
     * Picks a token from {@code logits[offset .. offset + vocabSize)}. Does not {@link #accept} it.
     * Calling it twice without an {@code accept} in between uses the same random draw.
     *
     * @return the token id, in {@code [0, vocabSize)}
     * @throws IllegalArgumentException if no logit is finite or one is NaN
     */
    public int sample(float[] logits, int offset, int vocabSize) {
        if (vocabSize < 1 || vocabSize > capacity) {
            throw new IllegalArgumentException("vocabSize must be 1.." + capacity + ", got " + vocabSize);
        }
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        System.arraycopy(logits, offset, x, 0, vocabSize);
        if (seen != null) {
            applyPenalties(vocabSize);
        }
        float max = SamplingKernels.max(x, vocabSize);
        if (!(max > Float.NEGATIVE_INFINITY)) {
            throw new IllegalArgumentException("logits have no finite maximum (all -Infinity, or a NaN) among " + vocabSize);
        }
        int token = params.isGreedy() ? SamplingKernels.firstIndexOf(x, vocabSize, max) : draw(vocabSize, max);
        if (logprobs != null) {
            fillLogprobs(vocabSize, max, token);
        }
        return token;
    }

    /** The logprobs of the last {@link #sample} call, or {@code null} if the request asked for none. */
    public TokenLogprobs logprobs() {
        return logprobs;
    }

    private void applyPenalties(int vocabSize) {
        float rep = params.repetitionPenalty();
        float freq = params.frequencyPenalty();
        float presence = params.presencePenalty();
        for (int i = 0; i < seenCount; i++) {
            int t = seenTokens[i];
            if (t >= vocabSize) {
                continue;
            }
            float v = x[t];
            if (rep != 1f) {
                v = v > 0 ? v / rep : v * rep;
            }
            int c = outputCount[t];
            if (c > 0) {
                v -= c * freq + presence;
            }
            x[t] = v;
        }
    }

    /**
     * Top-k, top-p and min-p each keep a prefix of the tokens in (logit descending, id ascending)
     * order, so together they keep the shortest of the three prefixes. {@link #truncate} finds the
     * last token of the top-k / top-p prefix without sorting the vocabulary; min-p is a threshold on
     * the logit. Then one pass computes the tempered weights of the kept tokens and one draw picks
     * among them in id order.
     */
    private int draw(int n, float max) {
        double u = uniform(generated);
        lastLogit = Float.NEGATIVE_INFINITY;
        lastId = Integer.MAX_VALUE;
        int k = params.topK() == -1 ? n : Math.min(params.topK(), n);
        if (k < n || params.topP() < 1f) {
            truncate(n, max, k);
        }
        // min-p keeps p_i >= min_p * p_max, that is x_i - max >= ln(min_p)
        float minDelta = params.minP() > 0f ? (float) Math.log(params.minP()) : Float.NEGATIVE_INFINITY;
        SamplingKernels.maskedExp(x, n, max, 1f / params.temperature(), lastLogit, lastId, minDelta, w);

        int blocks = (n + BLOCK - 1) / BLOCK;
        double total = 0;
        for (int b = 0; b < blocks; b++) {
            blockSums[b] = SamplingKernels.sum(w, b * BLOCK, Math.min(n, (b + 1) * BLOCK));
            total += blockSums[b];
        }
        double target = u * total;
        double before = 0;
        for (int b = 0; b < blocks; b++) {
            if (before + blockSums[b] > target) {
                double cum = before;
                for (int i = b * BLOCK, end = Math.min(n, (b + 1) * BLOCK); i < end; i++) {
                    cum += w[i];
                    if (cum > target) {
                        return i;
                    }
                }
            }
            before += blockSums[b];
        }
        // Only rounding gets here (u * total at the very end): the best token is always kept.
        return SamplingKernels.firstIndexOf(x, n, max);
    }

    /**
     * Sets {@link #lastLogit} and {@link #lastId} to the last token kept by top-k (k &lt; n) and then
     * top-p (over the softmax of the top-k logits; the token that reaches p is kept).
     *
     * <p>A histogram over {@code max - logit} in buckets of 1/{@value #BUCKETS_PER_LOGIT} logit (counts
     * for top-k, probability mass for top-p) finds the bucket where the prefix ends; only that bucket's
     * tokens are sorted. Tokens more than {@value #BUCKET_COUNT}/{@value #BUCKETS_PER_LOGIT} logits
     * below the maximum share the last bucket.
     */
    private void truncate(int n, float max, int k) {
        boolean topP = params.topP() < 1f;
        java.util.Arrays.fill(counts, 0);
        if (topP) {
            SamplingKernels.exp(x, n, max, 1f, w); // w[i] = p_i * Z
            java.util.Arrays.fill(mass, 0);
            for (int i = 0; i < n; i++) {
                int b = bucket(x[i], max);
                counts[b]++;
                mass[b] += w[i];
            }
        } else {
            for (int i = 0; i < n; i++) {
                counts[bucket(x[i], max)]++;
            }
        }
        int kBucket = BUCKET_COUNT;
        int kInBucket = 0;
        if (k < n) {
            int b = 0;
            int c = 0;
            while (c + counts[b] < k) {
                c += counts[b++];
            }
            sortBucket(b, n, max);
            kBucket = b;
            kInBucket = k - c;
            lastId = heap[kInBucket - 1];
            lastLogit = x[lastId];
        }
        if (!topP) {
            return;
        }
        double z = 0;
        int lastBucket = Math.min(kBucket, BUCKET_COUNT - 1);
        for (int b = 0; b < lastBucket; b++) {
            z += mass[b];
        }
        if (k < n) {
            for (int j = 0; j < kInBucket; j++) {
                z += w[heap[j]];
            }
        } else {
            z += mass[lastBucket];
        }
        double target = params.topP() * z;
        double cum = 0;
        for (int b = 0; b <= lastBucket; b++) {
            boolean inKBucket = b == kBucket;
            double bucketMass = inKBucket ? z - cum : mass[b];
            if (cum + bucketMass >= target) {
                int limit = inKBucket ? kInBucket : counts[b];
                if (!inKBucket) {
                    sortBucket(b, n, max);
                }
                int j = 0;
                while (j < limit - 1) {
                    cum += w[heap[j]];
                    if (cum >= target) {
                        break;
                    }
                    j++;
                }
                lastId = heap[j];
                lastLogit = x[lastId];
                return;
            }
            cum += bucketMass;
        }
        // Rounding kept cum below target to the end: keep the whole top-k set (already set) or everything.
    }

    private static int bucket(float logit, float max) {
        int b = (int) ((max - logit) * BUCKETS_PER_LOGIT); // +Infinity (a masked token) becomes MAX_VALUE
        return Math.min(b, BUCKET_COUNT - 1);
    }

    /** Puts the tokens of bucket {@code b} into {@code heap[0 .. counts[b])}, best first. */
    private void sortBucket(int b, int n, float max) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (bucket(x[i], max) == b) {
                heap[m++] = i;
            }
        }
        // Heap sort with the worst token on top: each pop moves the worst to the end.
        for (int i = m / 2 - 1; i >= 0; i--) {
            siftDown(i, m);
        }
        for (int size = m; size > 1; size--) {
            int top = heap[0];
            heap[0] = heap[size - 1];
            heap[size - 1] = top;
            siftDown(0, size - 1);
        }
    }

    /** Sift for a heap whose top is the worst token in (logit descending, id ascending) order. */
    private void siftDown(int i, int n) {
        int[] h = heap;
        int v = h[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && better(h[child], h[child + 1])) {
                child++;
            }
            if (!better(v, h[child])) {
                break;
            }
            h[i] = h[child];
            i = child;
        }
        h[i] = v;
    }

    private boolean better(int a, int b) {
        float xa = x[a];
        float xb = x[b];
        return xa > xb || (xa == xb && a < b);
    }

    /**
     * For tests: which tokens top-k, top-p and min-p keep for these logits (penalties applied as in
     * {@link #sample}). Allocates; not for the decode loop.
     */
    boolean[] keptTokens(float[] logits, int offset, int n) {
        System.arraycopy(logits, offset, x, 0, n);
        if (seen != null) {
            applyPenalties(n);
        }
        float max = SamplingKernels.max(x, n);
        lastLogit = Float.NEGATIVE_INFINITY;
        lastId = Integer.MAX_VALUE;
        int k = params.topK() == -1 ? n : Math.min(params.topK(), n);
        if (k < n || params.topP() < 1f) {
            truncate(n, max, k);
        }
        float minDelta = params.minP() > 0f ? (float) Math.log(params.minP()) : Float.NEGATIVE_INFINITY;
        boolean[] kept = new boolean[n];
        for (int i = 0; i < n; i++) {
            kept[i] = (x[i] > lastLogit || (x[i] == lastLogit && i <= lastId)) && x[i] - max >= minDelta;
        }
        return kept;
    }

    /** The k-th double of {@code new SplittableRandom(seed)}, computed directly (SplitMix64). */
    double uniform(long k) {
        long z = seed + (k + 1) * GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }

    private void fillLogprobs(int vocabSize, float max, int token) {
        SamplingKernels.exp(x, vocabSize, max, 1f, w);
        double sum = SamplingKernels.sum(w, 0, vocabSize);
        float lse = (float) (max + Math.log(sum));
        logprobs.set(token, x[token] - lse);
        int[] ids = logprobs.ids();
        float[] vals = logprobs.values();
        int n = Math.min(ids.length, vocabSize);
        int count = 0;
        // Insertion into a sorted list of at most 20: most tokens fail the first comparison.
        for (int i = 0; i < vocabSize; i++) {
            float v = x[i];
            if (count == n && (n == 0 || !(v > vals[n - 1]))) {
                continue; // ties keep the earlier (lower) id
            }
            int j = count < n ? count++ : n - 1;
            while (j > 0 && v > vals[j - 1]) {
                vals[j] = vals[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            vals[j] = v;
            ids[j] = i;
        }
        for (int j = 0; j < count; j++) {
            vals[j] -= lse;
        }
        logprobs.topCount(count);
    }
}
