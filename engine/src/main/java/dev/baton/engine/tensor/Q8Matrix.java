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
 * A dot product with a Q8_0 input sums each block in integers, then adds {@code isum * (d_w * d_x)}
 * to a float, block after block (ggml's scalar {@code ggml_vec_dot_q8_0_q8_0}).
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
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    long bo = wo + (long) b * BLOCK_BYTES;
                    int isum = 0;
                    for (int j = 0; j < InputBatch.QK; j++) {
                        isum += w.get(ValueLayout.JAVA_BYTE, bo + 2 + j) * (int) xq[xo + b * InputBatch.QK + j];
                    }
                    sum += isum * (HalfFloats.f16ToFloat(w.get(I16_LE, bo)) * xd[so + b]);
                }
                out[o + r] = sum;
            }
        }
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
