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

    static void scores(float[] q, int qo, MemorySegment mem, long[] kBase, int positions, int bs, int hd,
            float scale, float[] s) {
        long row = (long) hd * Float.BYTES;
        float[] tmp = VectorKernels.scratch();
        int p = 0;
        for (int blk = 0; p < positions; blk++) {
            long base = kBase[blk];
            int end = Math.min(positions, p + bs);
            long o = base;
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
                VectorKernels.sumLanes(tmp, 0, 4, s, p, 1);
                s[p] *= scale;
                s[p + 1] *= scale;
                s[p + 2] *= scale;
                s[p + 3] *= scale;
            }
            for (; p < end; p++, o += row) {
                FloatVector c0 = FloatVector.zero(F);
                for (int d = 0; d < hd; d += L) {
                    c0 = FloatVector.fromMemorySegment(F, mem, o + (long) d * Float.BYTES, LE)
                            .fma(FloatVector.fromArray(F, q, qo + d), c0);
                }
                c0.intoArray(tmp, 0);
                VectorKernels.sumLanes(tmp, 0, 1, s, p, 1);
                s[p] *= scale;
            }
        }
    }

    static void weightedSum(float[] w, MemorySegment mem, long[] vBase, int positions, int bs, int hd, float[] out,
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
            int p = 0;
            for (int blk = 0; p < positions; blk++) {
                long o = vBase[blk] + cOff;
                int end = Math.min(positions, p + bs);
                if (n == 4) {
                    for (; p < end; p++, o += row) {
                        FloatVector wv = FloatVector.broadcast(F, w[p]);
                        a0 = FloatVector.fromMemorySegment(F, mem, o, LE).fma(wv, a0);
                        a1 = FloatVector.fromMemorySegment(F, mem, o + lane, LE).fma(wv, a1);
                        a2 = FloatVector.fromMemorySegment(F, mem, o + 2 * lane, LE).fma(wv, a2);
                        a3 = FloatVector.fromMemorySegment(F, mem, o + 3 * lane, LE).fma(wv, a3);
                    }
                } else {
                    for (; p < end; p++, o += row) {
                        FloatVector wv = FloatVector.broadcast(F, w[p]);
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
