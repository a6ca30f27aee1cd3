package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorized causal attention of one query head over a sequence's KV blocks (F32 cache).
 *
 * <p>The caller passes, per block, the byte offset of the head's K run and V run; inside a run,
 * position {@code j} starts at {@code j * headDim * 4}. Scores of four positions are computed per
 * pass over the query (independent chains), and the weighted sum of V keeps up to four 16-lane
 * accumulators in registers across all positions.
 *
 * <p>Two forms: {@link #attend}, one pass over all positions (softmax weights normalized before the
 * weighted sum of V), and the split form, {@link #partial} per chunk of positions then {@link #merge} of
 * the chunks in chunk order, which lets the chunks of one head run on different threads
 * ({@code dev.baton.engine.step.PagedAttention} says which form a context length gets).
 *
 * <p>Determinism: each score is {@code fma} over the head dimension in order, then the fixed
 * pairwise lane sum of {@link VectorKernels#sumLanes}; each output element accumulates positions in order.
 * Neither depends on the batch, the chunking or the thread. Softmax uses {@link VectorMath#exp}, which is
 * the same interpreted and compiled. Allocation-free; static and thread-safe.
 */
public final class AttentionKernels {

    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private AttentionKernels() {}

    /** Whether {@link #attend} handles this cache: the Vector API is usable, F32 KV, head dim a multiple of the lanes. */
    public static boolean supports(GgmlType dtype, int headDim) {
        return KernelMode.vectorAvailable() && dtype == GgmlType.F32 && headDim % L == 0;
    }

    /**
     * {@code out[oo, oo+headDim) = softmax(q·K^T * scale) · V} over positions {@code [0, positions)}.
     *
     * @param kBase   per block, the byte offset of this head's K run in {@code mem}
     * @param vBase   per block, the byte offset of this head's V run
     * @param scores  scratch of at least {@code positions} floats
     */
    public static void attend(float[] q, int qo, MemorySegment mem, long[] kBase, long[] vBase, int positions,
            int blockSize, int headDim, float scale, float[] scores, float[] out, int oo) {
        scores(q, qo, mem, kBase, positions, blockSize, headDim, scale, scores);
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < positions; p++) {
            max = Math.max(max, scores[p]);
        }
        double sum = VectorMath.expShifted(scores, positions, max);
        float inv = (float) (1.0 / sum);
        for (int p = 0; p < positions; p++) {
            scores[p] *= inv;
        }
        weightedSum(scores, mem, vBase, positions, blockSize, headDim, out, oo);
    }

    /**
     * One KV chunk of a split (flash-decoding) attention: over positions {@code [from, to)}, with
     * {@code m = max(score)} and {@code e_p = exp(score_p - m)}, writes {@code m} to {@code max[slot]},
     * {@code sum(e_p)} (double, in position order) to {@code sum[slot]} and the unnormalized
     * {@code sum(e_p * V_p)} to {@code out[oo, oo+headDim)}. {@link #merge} combines the chunks.
     *
     * @param scores scratch of at least {@code to - from} floats
     */
    public static void partial(float[] q, int qo, MemorySegment mem, long[] kBase, long[] vBase, int from, int to,
            int blockSize, int headDim, float scale, float[] scores, float[] max, double[] sum, int slot, float[] out,
            int oo) {
        int n = to - from;
        scores(q, qo, mem, kBase, from, to, blockSize, headDim, scale, scores);
        float m = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < n; p++) {
            m = Math.max(m, scores[p]);
        }
        max[slot] = m;
        sum[slot] = VectorMath.expShifted(scores, n, m);
        weightedSum(scores, mem, vBase, from, to, blockSize, headDim, out, oo);
    }

    /**
     * Merges {@code count} chunk partials (slots {@code first..first+count-1}, in that order) into the
     * attention output: with {@code M = max(max[c])} and {@code f_c = exp(max[c] - M)},
     * {@code out = sum(f_c * o_c) / sum(f_c * sum[c])}, each output element accumulated over the chunks in
     * order with fma. Plain Java (lanewise, the same bits as any vector form); shared by the F32 vector path
     * and the scalar path.
     *
     * @param parts the chunks' unnormalized outputs, chunk {@code c} at {@code (first + c) * headDim}
     */
    public static void merge(float[] max, double[] sum, float[] parts, int first, int count, int headDim, float[] out,
            int oo) {
        float m = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < count; c++) {
            m = Math.max(m, max[first + c]);
        }
        java.util.Arrays.fill(out, oo, oo + headDim, 0f);
        double total = 0;
        for (int c = 0; c < count; c++) {
            float f = VectorMath.exp(max[first + c] - m);
            total += sum[first + c] * f;
            int po = (first + c) * headDim;
            for (int d = 0; d < headDim; d++) {
                out[oo + d] = Math.fma(f, parts[po + d], out[oo + d]);
            }
        }
        float inv = (float) (1.0 / total);
        for (int d = 0; d < headDim; d++) {
            out[oo + d] *= inv;
        }
    }

    static void scores(float[] q, int qo, MemorySegment mem, long[] kBase, int positions, int bs, int hd,
            float scale, float[] s) {
        scores(q, qo, mem, kBase, 0, positions, bs, hd, scale, s);
    }

    /** Scores of positions {@code [from, to)} into {@code s[0, to-from)}; each position's bits depend on it alone. */
    static void scores(float[] q, int qo, MemorySegment mem, long[] kBase, int from, int to, int bs, int hd,
            float scale, float[] s) {
        long row = (long) hd * Float.BYTES;
        float[] tmp = VectorKernels.scratch();
        int p = from;
        for (int blk = from / bs; p < to; blk++) {
            int end = Math.min(to, (blk + 1) * bs);
            long o = kBase[blk] + (long) (p - blk * bs) * row;
            for (; p + 4 <= end; p += 4, o += 4 * row) {
                FloatVector c0 = FloatVector.zero(F);
                FloatVector c1 = c0;
                FloatVector c2 = c0;
                FloatVector c3 = c0;
                for (int d = 0; d < hd; d += L) {
                    FloatVector qv = FloatVector.fromArray(F, q, qo + d);
                    long od = o + (long) d * Float.BYTES;
                    c0 = FloatVector.fromMemorySegment(F, mem, od, LE).fma(qv, c0);
                    c1 = FloatVector.fromMemorySegment(F, mem, od + row, LE).fma(qv, c1);
                    c2 = FloatVector.fromMemorySegment(F, mem, od + 2 * row, LE).fma(qv, c2);
                    c3 = FloatVector.fromMemorySegment(F, mem, od + 3 * row, LE).fma(qv, c3);
                }
                c0.intoArray(tmp, 0);
                c1.intoArray(tmp, L);
                c2.intoArray(tmp, 2 * L);
                c3.intoArray(tmp, 3 * L);
                int i = p - from;
                VectorKernels.sumLanes(tmp, 0, 4, s, i, 1);
                s[i] *= scale;
                s[i + 1] *= scale;
                s[i + 2] *= scale;
                s[i + 3] *= scale;
            }
            for (; p < end; p++, o += row) {
                FloatVector c0 = FloatVector.zero(F);
                for (int d = 0; d < hd; d += L) {
                    c0 = FloatVector.fromMemorySegment(F, mem, o + (long) d * Float.BYTES, LE)
                            .fma(FloatVector.fromArray(F, q, qo + d), c0);
                }
                c0.intoArray(tmp, 0);
                int i = p - from;
                VectorKernels.sumLanes(tmp, 0, 1, s, i, 1);
                s[i] *= scale;
            }
        }
    }

    static void weightedSum(float[] w, MemorySegment mem, long[] vBase, int positions, int bs, int hd, float[] out,
            int oo) {
        weightedSum(w, mem, vBase, 0, positions, bs, hd, out, oo);
    }

    /** {@code out = sum(w[p - from] * V_p)} over positions {@code [from, to)}, each element accumulated in position order. */
    static void weightedSum(float[] w, MemorySegment mem, long[] vBase, int from, int to, int bs, int hd, float[] out,
            int oo) {
        long row = (long) hd * Float.BYTES;
        int chunks = hd / L;
        for (int c0 = 0; c0 < chunks; c0 += 4) {
            int n = Math.min(4, chunks - c0);
            long cOff = (long) c0 * L * Float.BYTES;
            long lane = (long) L * Float.BYTES;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int p = from;
            for (int blk = from / bs; p < to; blk++) {
                long o = vBase[blk] + (long) (p - blk * bs) * row + cOff;
                int end = Math.min(to, (blk + 1) * bs);
                if (n == 4) {
                    for (; p < end; p++, o += row) {
                        FloatVector wv = FloatVector.broadcast(F, w[p - from]);
                        a0 = FloatVector.fromMemorySegment(F, mem, o, LE).fma(wv, a0);
                        a1 = FloatVector.fromMemorySegment(F, mem, o + lane, LE).fma(wv, a1);
                        a2 = FloatVector.fromMemorySegment(F, mem, o + 2 * lane, LE).fma(wv, a2);
                        a3 = FloatVector.fromMemorySegment(F, mem, o + 3 * lane, LE).fma(wv, a3);
                    }
                } else {
                    for (; p < end; p++, o += row) {
                        FloatVector wv = FloatVector.broadcast(F, w[p - from]);
                        a0 = FloatVector.fromMemorySegment(F, mem, o, LE).fma(wv, a0);
                        if (n > 1) {
                            a1 = FloatVector.fromMemorySegment(F, mem, o + lane, LE).fma(wv, a1);
                        }
                        if (n > 2) {
                            a2 = FloatVector.fromMemorySegment(F, mem, o + 2 * lane, LE).fma(wv, a2);
                        }
                    }
                }
            }
            int at = oo + c0 * L;
            a0.intoArray(out, at);
            if (n > 1) {
                a1.intoArray(out, at + L);
            }
            if (n > 2) {
                a2.intoArray(out, at + 2 * L);
            }
            if (n > 3) {
                a3.intoArray(out, at + 3 * L);
            }
        }
    }
}
