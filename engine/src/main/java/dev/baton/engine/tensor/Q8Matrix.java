package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q8_0 weights, scalar kernels. A row is {@code cols/32} blocks of 34 bytes:
 * <pre>
 *   0      2                                   34
 *   +------+-----------------------------------+
 *   | d    | q[0] q[1] ... q[31]               |   value[j] = q[j] * d
 *   | fp16 | int8 x 32                         |
 *   +------+-----------------------------------+
 * </pre>
 * A dot product with a Q8_0 input does llama.cpp's x86 arithmetic ({@code ggml_vec_dot_q8_0_q8_0}
 * with AVX2, which AVX-512 builds run too, and llamafile's {@code tinyBLAS_Q0_AVX} for batches):
 * 8 float accumulators, accumulator {@code i} taking, block after block,
 * {@code acc_i = fma(d_w * d_x, isum_i, acc_i)} where {@code isum_i} is the exact integer sum of the
 * block's elements {@code 4i .. 4i+3}; then {@code ((acc_0 + acc_4) + (acc_2 + acc_6)) + ((acc_1 + acc_5)
 * + (acc_3 + acc_7))} (ggml's {@code hsum_float_8}). The result does not depend on the machine's
 * vector width, and {@link Q8VectorMatrix} computes the same bits.
 */
class Q8Matrix extends WeightMatrix {

    static final int BLOCK_BYTES = 34;

    Q8Matrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    public KernelMode mode() {
        return KernelMode.SCALAR;
    }

    @Override
    public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
        MemorySegment w = data;
        float[] xq = in.values;
        float[] xd = in.scales;
        int blocks = cols / InputBatch.QK;
        for (int v = 0; v < in.vectorCount(); v++) {
            int xo = v * cols;
            int so = v * blocks;
            int o = outOffset + v * outStride;
            for (int r = rowStart; r < rowEnd; r++) {
                long wo = r * rowBytes;
                float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
                for (int b = 0; b < blocks; b++) {
                    long bo = wo + (long) b * BLOCK_BYTES;
                    int xb = xo + b * InputBatch.QK;
                    float d = HalfFloats.f16ToFloat(w.get(I16_LE, bo)) * xd[so + b];
                    a0 = Math.fma(d, group(w, bo, xq, xb, 0), a0);
                    a1 = Math.fma(d, group(w, bo, xq, xb, 1), a1);
                    a2 = Math.fma(d, group(w, bo, xq, xb, 2), a2);
                    a3 = Math.fma(d, group(w, bo, xq, xb, 3), a3);
                    a4 = Math.fma(d, group(w, bo, xq, xb, 4), a4);
                    a5 = Math.fma(d, group(w, bo, xq, xb, 5), a5);
                    a6 = Math.fma(d, group(w, bo, xq, xb, 6), a6);
                    a7 = Math.fma(d, group(w, bo, xq, xb, 7), a7);
                }
                out[o + r] = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
            }
        }
    }

    /** The exact sum of the products of elements {@code 4g .. 4g+3} of the block at {@code bo} and input block {@code xb}. */
    private static float group(MemorySegment w, long bo, float[] xq, int xb, int g) {
        int s = 0;
        for (int t = 0; t < 4; t++) {
            s += w.get(ValueLayout.JAVA_BYTE, bo + 2 + 4 * g + t) * (int) xq[xb + 8 * t + g];
        }
        return s;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        checkRow(row, dst, dstOffset);
        long wo = row * rowBytes;
        for (int b = 0; b < cols / InputBatch.QK; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            float d = HalfFloats.f16ToFloat(data.get(I16_LE, bo));
            for (int j = 0; j < InputBatch.QK; j++) {
                dst[dstOffset + b * InputBatch.QK + j] = data.get(ValueLayout.JAVA_BYTE, bo + 2 + j) * d;
            }
        }
    }
}
