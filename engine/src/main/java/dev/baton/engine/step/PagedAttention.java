package dev.baton.engine.step;

import dev.baton.engine.cpu.WorkerPool;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.tensor.AttentionKernels;
import dev.baton.engine.tensor.FloatOps;
import dev.baton.engine.tensor.VectorMath;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Causal attention of a step's tokens over their sequences' paged KV, spread over the worker threads,
 * with split-K (multiblock) attention for long contexts.
 *
 * <p>The math of one (token, head) unit, attending over positions {@code [0, P)}, depends only on {@code P}:
 * <ul>
 *   <li>{@code P <= }{@value #CHUNK}: one pass, softmax weights normalized before the weighted sum of V
 *       (as before split-K existed, so short contexts give the same bits as then);</li>
 *   <li>{@code P > }{@value #CHUNK}: the positions are cut into fixed chunks {@code [0, CHUNK), [CHUNK, 2 CHUNK),
 *       ...}; each chunk gives a partial (its max score, its sum of {@code exp(score - max)} and its unnormalized
 *       weighted sum of V, {@link AttentionKernels#partial}), and the partials are merged in chunk order
 *       ({@link AttentionKernels#merge}).</li>
 * </ul>
 * The chunk size is a constant, not a setting: KV computed on one node continues on another, so every node must
 * compute the same bits for the same context.
 *
 * <p>Scheduling never changes a bit, only who computes what:
 * <ul>
 *   <li><em>units</em> (prefill chunks, decode batches of several sequences): each thread takes whole units, the
 *       units split among threads by cost (their positions), and computes a long unit's chunks one after the other
 *       into its own scratch before merging them;</li>
 *   <li><em>split</em> (fewer than {@value #SPLIT_BELOW_UNITS_PER_THREAD} units per thread, some longer than a
 *       chunk: single-stream decode at a long context): the chunks of every unit are split among the threads by
 *       cost into a shared partials buffer, then a second pass merges each unit.</li>
 * </ul>
 *
 * <p>Buffers are allocated once for the model's context length and the thread count; {@link #run} allocates
 * nothing. Not thread-safe: one caller (the forward pass) at a time.
 */
final class PagedAttention {

    /** Positions of one chunk of a split attention (16 blocks of the default 16 positions). */
    static final int CHUNK = 256;
    /** Split mode while the batch has fewer (token, head) units than this many per thread. */
    static final int SPLIT_BELOW_UNITS_PER_THREAD = 4;
    /** Bound on the shared partials buffer, in floats (a batch needing more runs in units mode). */
    private static final int MAX_SPLIT_FLOATS = 1 << 20;

    private final int heads;
    private final int kvHeads;
    private final int hd;
    private final int bs;
    private final GgmlType dtype;
    private final KvCacheSpec spec;
    private final WorkerPool workers;
    private final int threads;
    private final boolean vector;
    private final float scale;

    private final float[][] scores;  // (threads, min(CHUNK, context)) scores, then weights, of one chunk
    private final long[][] kBases;   // (threads, blocks per context) K run offsets of one head
    private final long[][] vBases;
    private final float[][] unitMax; // (threads, chunks per context) partials of one unit (units mode)
    private final double[][] unitSum;
    private final float[][] unitOut; // (threads, chunks per context * headDim)
    private final int splitCapacity; // partial slots of split mode
    private final float[] splitMax;
    private final double[] splitSum;
    private final float[] splitOut;  // (splitCapacity, headDim)

    private final UnitTask unitTask = new UnitTask();
    private final PartialTask partialTask = new PartialTask();
    private final MergeTask mergeTask = new MergeTask();

    // step state read by the tasks
    private StepBatch batch;
    private KvBlockPool pool;
    private MemorySegment mem;
    private float[] q;
    private float[] att;
    private int layer;
    private long totalCost;
    private int multiUnits;
    private boolean lastRunSplit;

    PagedAttention(int headCount, int kvHeadCount, int headDim, int contextLength, KvCacheSpec spec,
            WorkerPool workers) {
        this.heads = headCount;
        this.kvHeads = kvHeadCount;
        this.hd = headDim;
        this.bs = spec.blockSize();
        this.dtype = spec.dtype();
        this.spec = spec;
        this.workers = workers;
        this.threads = workers.threads();
        this.vector = AttentionKernels.supports(spec.dtype(), headDim);
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        int maxBlocks = (contextLength + bs - 1) / bs;
        int maxChunks = chunks(contextLength);
        scores = new float[threads][Math.min(CHUNK, contextLength)];
        kBases = new long[threads][maxBlocks];
        vBases = new long[threads][maxBlocks];
        unitMax = new float[threads][maxChunks];
        unitSum = new double[threads][maxChunks];
        unitOut = new float[threads][maxChunks * headDim];
        long wanted = threads == 1 || maxChunks == 1 ? 0
                : (long) SPLIT_BELOW_UNITS_PER_THREAD * threads * maxChunks;
        splitCapacity = (int) Math.min(wanted, Math.max(maxChunks, MAX_SPLIT_FLOATS / headDim));
        splitMax = new float[splitCapacity];
        splitSum = new double[splitCapacity];
        splitOut = new float[splitCapacity * headDim];
    }

    /** Chunks of a unit attending over {@code positions} positions: 1 (one pass) up to {@value #CHUNK}. */
    static int chunks(int positions) {
        return positions <= CHUNK ? 1 : (positions + CHUNK - 1) / CHUNK;
    }

    /**
     * {@code att(T, heads*headDim) = softmax(q K^T / sqrt(headDim)) V} for every token of {@code b} at
     * {@code layer}, each token over its sequence's positions {@code [0, position]} (its own K and V already
     * stored).
     */
    void run(StepBatch b, KvBlockPool kvPool, float[] query, float[] out, int atLayer) {
        batch = b;
        pool = kvPool;
        mem = kvPool.memory();
        q = query;
        att = out;
        layer = atLayer;
        long total = 0;
        int items = 0;
        int multi = 0;
        for (int t = 0; t < b.tokenCount; t++) {
            int positions = b.positions[t] + 1;
            total += (long) positions * heads;
            int n = chunks(positions);
            if (n > 1) {
                items += n * heads;
                multi += heads;
            }
        }
        totalCost = total;
        multiUnits = multi;
        int units = b.tokenCount * heads;
        lastRunSplit = multi > 0 && threads > 1 && units < SPLIT_BELOW_UNITS_PER_THREAD * threads
                && items <= splitCapacity;
        if (lastRunSplit) {
            workers.run(partialTask);
            workers.run(mergeTask);
        } else {
            workers.run(unitTask);
        }
        batch = null;
        pool = null;
        q = null;
        att = null;
    }

    /** Whether the last {@link #run} spread chunks of units over the threads (split mode); for tests. */
    boolean lastRunSplit() {
        return lastRunSplit;
    }

    /** Whole (token, head) units; a unit goes to the part whose share of the cost holds the unit's start. */
    private final class UnitTask implements WorkerPool.Task {
        @Override
        public void run(int part, int parts) {
            long lo = share(part, parts);
            long hi = share(part + 1, parts);
            long cost = 0;
            for (int t = 0; t < batch.tokenCount && cost < hi; t++) {
                int positions = batch.positions[t] + 1;
                long tokenCost = (long) positions * heads;
                if (cost + tokenCost <= lo) {
                    cost += tokenCost;
                    continue;
                }
                for (int h = 0; h < heads; h++, cost += positions) {
                    if (cost >= lo && cost < hi) {
                        unit(t, h, positions, part);
                    }
                }
            }
        }
    }

    /** Split mode, first pass: single-chunk units whole, and each chunk of the others into its slot. */
    private final class PartialTask implements WorkerPool.Task {
        @Override
        public void run(int part, int parts) {
            long lo = share(part, parts);
            long hi = share(part + 1, parts);
            long cost = 0;
            int slot = 0;
            for (int t = 0; t < batch.tokenCount && cost < hi; t++) {
                int positions = batch.positions[t] + 1;
                int n = chunks(positions);
                long tokenCost = (long) positions * heads;
                if (cost + tokenCost <= lo) {
                    cost += tokenCost;
                    slot += n > 1 ? n * heads : 0;
                    continue;
                }
                for (int h = 0; h < heads; h++) {
                    if (n == 1) {
                        if (cost >= lo && cost < hi) {
                            whole(t, h, positions, part);
                        }
                        cost += positions;
                        continue;
                    }
                    for (int c = 0; c < n; c++) {
                        int from = c * CHUNK;
                        int to = Math.min(positions, from + CHUNK);
                        if (cost >= lo && cost < hi) {
                            chunk(t, h, from, to, part, splitMax, splitSum, splitOut, slot + c);
                        }
                        cost += to - from;
                    }
                    slot += n;
                }
            }
        }
    }

    /** Split mode, second pass: the multi-chunk units, split among the parts by count, each merged whole. */
    private final class MergeTask implements WorkerPool.Task {
        @Override
        public void run(int part, int parts) {
            int m0 = WorkerPool.start(multiUnits, part, parts);
            int m1 = WorkerPool.start(multiUnits, part + 1, parts);
            int k = 0;
            int slot = 0;
            for (int t = 0; t < batch.tokenCount && k < m1; t++) {
                int n = chunks(batch.positions[t] + 1);
                if (n == 1) {
                    continue;
                }
                for (int h = 0; h < heads; h++, k++, slot += n) {
                    if (k >= m0 && k < m1) {
                        AttentionKernels.merge(splitMax, splitSum, splitOut, slot, n, hd, att, (t * heads + h) * hd);
                    }
                }
            }
        }
    }

    private long share(int part, int parts) {
        return totalCost * part / parts;
    }

    /** One (token, head) unit on this thread, whatever its length. */
    private void unit(int t, int h, int positions, int part) {
        int n = chunks(positions);
        if (n == 1) {
            whole(t, h, positions, part);
            return;
        }
        float[] max = unitMax[part];
        double[] sum = unitSum[part];
        float[] out = unitOut[part];
        for (int c = 0; c < n; c++) {
            int from = c * CHUNK;
            chunk(t, h, from, Math.min(positions, from + CHUNK), part, max, sum, out, c);
        }
        AttentionKernels.merge(max, sum, out, 0, n, hd, att, (t * heads + h) * hd);
    }

    /** A unit of at most {@value #CHUNK} positions in one pass, straight into {@code att}. */
    private void whole(int t, int h, int positions, int part) {
        int kvh = h / (heads / kvHeads);
        int[] table = batch.seqs[batch.tokenSeq[t]].blockTable();
        int qo = (t * heads + h) * hd;
        float[] s = scores[part];
        if (vector) {
            long[] kb = kBases[part];
            long[] vb = vBases[part];
            bases(table, kvh, 0, positions, kb, vb);
            AttentionKernels.attend(q, qo, mem, kb, vb, positions, bs, hd, scale, s, att, qo);
            return;
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < positions; p++) {
            long off = pool.blockOffset(table[p / bs]) + spec.offsetInBlock(layer, false, kvh, p % bs);
            float score = FloatOps.dot(q, qo, mem, off, dtype, hd) * scale;
            s[p] = score;
            if (score > max) {
                max = score;
            }
        }
        double sum = 0;
        for (int p = 0; p < positions; p++) {
            float e = (float) Math.exp(s[p] - max);
            s[p] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        Arrays.fill(att, qo, qo + hd, 0f);
        for (int p = 0; p < positions; p++) {
            long off = pool.blockOffset(table[p / bs]) + spec.offsetInBlock(layer, true, kvh, p % bs);
            FloatOps.axpy(s[p] * inv, mem, off, dtype, att, qo, hd);
        }
    }

    /** The partial of positions {@code [from, to)} of a unit into {@code slot} of the given partials. */
    private void chunk(int t, int h, int from, int to, int part, float[] max, double[] sum, float[] out, int slot) {
        int kvh = h / (heads / kvHeads);
        int[] table = batch.seqs[batch.tokenSeq[t]].blockTable();
        int qo = (t * heads + h) * hd;
        int oo = slot * hd;
        float[] s = scores[part];
        if (vector) {
            long[] kb = kBases[part];
            long[] vb = vBases[part];
            bases(table, kvh, from, to, kb, vb);
            AttentionKernels.partial(q, qo, mem, kb, vb, from, to, bs, hd, scale, s, max, sum, slot, out, oo);
            return;
        }
        float m = Float.NEGATIVE_INFINITY;
        for (int p = from; p < to; p++) {
            long off = pool.blockOffset(table[p / bs]) + spec.offsetInBlock(layer, false, kvh, p % bs);
            float score = FloatOps.dot(q, qo, mem, off, dtype, hd) * scale;
            s[p - from] = score;
            m = Math.max(m, score);
        }
        double l = 0;
        for (int i = 0; i < to - from; i++) {
            float e = VectorMath.exp(s[i] - m);
            s[i] = e;
            l += e;
        }
        Arrays.fill(out, oo, oo + hd, 0f);
        for (int p = from; p < to; p++) {
            long off = pool.blockOffset(table[p / bs]) + spec.offsetInBlock(layer, true, kvh, p % bs);
            FloatOps.axpy(s[p - from], mem, off, dtype, out, oo, hd);
        }
        max[slot] = m;
        sum[slot] = l;
    }

    /** K and V run offsets of head {@code kvh} at this layer, for the blocks holding positions {@code [from, to)}. */
    private void bases(int[] table, int kvh, int from, int to, long[] kb, long[] vb) {
        long kOff = spec.offsetInBlock(layer, false, kvh, 0);
        long vOff = spec.offsetInBlock(layer, true, kvh, 0);
        for (int blk = from / bs, last = (to - 1) / bs; blk <= last; blk++) {
            long base = pool.blockOffset(table[blk]);
            kb[blk] = base + kOff;
            vb[blk] = base + vOff;
        }
    }
}
