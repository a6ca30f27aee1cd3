package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgufTensorInfo;

/**
 * K-quant weights (Q2_K .. Q6_K, super-blocks of 256 values, layouts in {@link KQuants}), scalar
 * kernels: the reference the vector kernels are tested against. Dot products read a Q8_K input
 * ({@link InputBatch}) and follow ggml's generic {@code ggml_vec_dot_qX_K_q8_K} step by step: exact
 * integer sums within each super-block, then the same float operations in the same order. For
 * Q3_K .. Q6_K that is eight float lanes per row:
 * <pre>
 *   aux[l]   = sum of scale(i) * w(i) * q8(i)  over the super-block's values i with i % 8 == l  (int)
 *   sums[l] += (d_w * d_x) * aux[l]                                                (per super-block)
 *   sumf    -= (dmin_w * d_x) * sum_g(bsums[g] * min(g))                          (Q4_K, Q5_K only)
 *   result   = sumf + sums[0] + sums[1] + ... + sums[7]
 * </pre>
 * and for Q2_K one float per super-block: {@code sumf += (d_x*d_w) * isum - (d_x*dmin_w) * summs}.
 */
abstract class KQuantMatrix extends WeightMatrix {

    static final int QK_K = KQuants.QK_K;

    /** Per thread: eight int lanes, then eight float lanes. */
    private static final ThreadLocal<int[]> AUX = ThreadLocal.withInitial(() -> new int[8]);
    private static final ThreadLocal<float[]> SUMS = ThreadLocal.withInitial(() -> new float[8]);

    final int blocks;

    KQuantMatrix(GgufTensorInfo t) {
        super(t);
        this.blocks = cols / QK_K;
    }

    @Override
    public KernelMode mode() {
        return KernelMode.SCALAR;
    }

    @Override
    public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
        int[] aux = AUX.get();
        float[] sums = SUMS.get();
        for (int v = 0; v < in.vectorCount(); v++) {
            int o = outOffset + v * outStride;
            for (int r = rowStart; r < rowEnd; r++) {
                out[o + r] = dot(r * rowBytes, in, v, aux, sums);
            }
        }
    }

    /** The dot product of the row at byte offset {@code wo} with vector {@code v} of {@code in}. */
    abstract float dot(long wo, InputBatch in, int v, int[] aux, float[] sums);

    /** {@code sumf + sums[0] + ... + sums[7]}, in that order. */
    static float addLanes(float sumf, float[] sums) {
        for (int l = 0; l < 8; l++) {
            sumf += sums[l];
        }
        return sumf;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        checkRow(row, dst, dstOffset);
        long wo = row * rowBytes;
        for (int b = 0; b < blocks; b++) {
            KQuants.dequantize(type, data, wo + (long) b * type.blockBytes, dst, dstOffset + b * QK_K);
        }
    }
}
