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
 * capacity (about 4 bytes per token, plus 13 with penalties and 4 with top-k or top-p); {@link #sample},
 * {@link #accept} and {@link #setPrompt} allocate nothing.
 *
 * <p>Logits must not be NaN; {@code -Infinity} masks a token; at least one logit must be finite.
 */
public final class Sampler {

    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private static final byte IN_PROMPT = 1;
    private static final byte IN_OUTPUT = 2;

    private final SamplingParams params;
    private final int capacity;
    private final long seed;
    private final float[] x;
    /** Max-heap of token ids by (logit desc, id asc); popped ids collect at the end, best last. */
    private final int[] heap;
    /** Per token: IN_PROMPT | IN_OUTPUT (null without penalties). */
    private final byte[] seen;
    /** Per token: occurrences in the output (null without penalties). */
    private final int[] outputCount;
    /** Distinct tokens seen, in first-seen order (null without penalties). */
    private final int[] seenTokens;
    private int seenCount;
    private int generated;
    private final TokenLogprobs logprobs;

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
        boolean truncates = !params.isGreedy() && (params.topK() != -1 && params.topK() < vocabCapacity || params.topP() < 1f);
        this.heap = truncates ? new int[vocabCapacity] : null;
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
     */
    public int sample(float[] logits, int offset, int vocabSize) {
        if (vocabSize < 1 || vocabSize > capacity) {
            throw new IllegalArgumentException("vocabSize must be 1.." + capacity + ", got " + vocabSize);
        }
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        float[] x = this.x;
        System.arraycopy(logits, offset, x, 0, vocabSize);
        if (seen != null) {
            applyPenalties(vocabSize);
        }
        int best = 0;
        float max = x[0];
        for (int i = 1; i < vocabSize; i++) {
            if (x[i] > max) {
                max = x[i];
                best = i;
            }
        }
        if (!(max > Float.NEGATIVE_INFINITY) || Float.isNaN(max)) {
            throw new IllegalArgumentException("no finite logit among " + vocabSize);
        }
        int token = params.isGreedy() ? best : draw(vocabSize, max);
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

    private int draw(int vocabSize, float max) {
        double u = uniform(generated);
        double invTemp = 1.0 / params.temperature();
        int k = params.topK() == -1 ? vocabSize : Math.min(params.topK(), vocabSize);
        float topP = params.topP();
        // min-p keeps p_i >= min_p * p_max, that is x_i - max >= ln(min_p) (-infinity when min_p = 0)
        double logMinP = Math.log(params.minP());
        if (k == vocabSize && topP >= 1f) {
            // No ordering needed: min-p is a threshold, applied while summing; ids in ascending order.
            double total = 0;
            for (int i = 0; i < vocabSize; i++) {
                double d = x[i] - max;
                if (d >= logMinP) {
                    total += Math.exp(d * invTemp);
                }
            }
            double target = u * total;
            double cum = 0;
            int last = 0;
            for (int i = 0; i < vocabSize; i++) {
                double d = x[i] - max;
                if (d >= logMinP) {
                    cum += Math.exp(d * invTemp);
                    last = i;
                    if (cum > target) {
                        return i;
                    }
                }
            }
            return last;
        }
        // Sorted candidates, best first: the j-th best is heap[vocabSize - 1 - j].
        heapify(vocabSize);
        int size = vocabSize;
        int n;
        if (k < vocabSize) {
            for (int j = 0; j < k; j++) {
                size = pop(size);
            }
            n = k;
            if (topP < 1f) {
                double z = 0;
                for (int j = 0; j < k; j++) {
                    z += Math.exp(x[heap[vocabSize - 1 - j]] - max);
                }
                double cum = 0;
                for (int j = 0; j < k; j++) {
                    cum += Math.exp(x[heap[vocabSize - 1 - j]] - max) / z;
                    if (cum >= topP) {
                        n = j + 1;
                        break;
                    }
                }
            }
        } else {
            // top-p alone: pop only as many as the nucleus needs.
            double z = 0;
            for (int i = 0; i < vocabSize; i++) {
                z += Math.exp(x[i] - max);
            }
            double cum = 0;
            n = 0;
            while (size > 0) {
                size = pop(size);
                n++;
                cum += Math.exp(x[heap[size]] - max) / z;
                if (cum >= topP) {
                    break;
                }
            }
        }
        int kept = 1; // the best token always stays
        while (kept < n && x[heap[vocabSize - 1 - kept]] - max >= logMinP) {
            kept++;
        }
        double total = 0;
        for (int j = 0; j < kept; j++) {
            total += Math.exp((x[heap[vocabSize - 1 - j]] - max) * invTemp);
        }
        double target = u * total;
        double cum = 0;
        for (int j = 0; j < kept; j++) {
            int t = heap[vocabSize - 1 - j];
            cum += Math.exp((x[t] - max) * invTemp);
            if (cum > target) {
                return t;
            }
        }
        return heap[vocabSize - kept];
    }

    /** The k-th double of {@code new SplittableRandom(seed)}, computed directly (SplitMix64). */
    private double uniform(long k) {
        long z = seed + (k + 1) * GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }

    private boolean better(int a, int b) {
        float xa = x[a];
        float xb = x[b];
        return xa > xb || (xa == xb && a < b);
    }

    private void heapify(int n) {
        for (int i = 0; i < n; i++) {
            heap[i] = i;
        }
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(i, n);
        }
    }

    /** Moves the best of {@code heap[0 .. size)} to {@code heap[size - 1]}; returns the new size. */
    private int pop(int size) {
        int top = heap[0];
        int last = size - 1;
        heap[0] = heap[last];
        siftDown(0, last);
        heap[last] = top;
        return last;
    }

    private void siftDown(int i, int n) {
        int[] h = heap;
        int v = h[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && better(h[child + 1], h[child])) {
                child++;
            }
            if (!better(h[child], v)) {
                break;
            }
            h[i] = h[child];
            i = child;
        }
        h[i] = v;
    }

    private void fillLogprobs(int vocabSize, float max, int token) {
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            sum += Math.exp(x[i] - max);
        }
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
