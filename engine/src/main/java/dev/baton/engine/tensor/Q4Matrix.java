package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0 weights, scalar kernels. A row is {@code cols/32} blocks of 18 bytes:
 * <pre>
 *   0      2                          18
 *   +------+--------------------------+
 *   | d    | qs[0] ... qs[15]         |   value[j]      = ((qs[j] &amp; 0x0F) - 8) * d    j in [0, 16)
 *   | fp16 | two 4-bit values a byte  |   value[j + 16] = ((qs[j] &gt;&gt;&gt; 4)  - 8) * d
 *   +------+--------------------------+
 * </pre>
 * Dot products read a Q8_0 input and do llama.cpp's x86 arithmetic for Q4_0, which it repacks to
 * {@code q4_0_8x8} on every CPU with AVX2, AVX-512 ones included ({@code ggml_gemv_q4_0_8x8_q8_0},
 * {@code ggml_gemm_q4_0_8x8_q8_0}): each block's 32 products summed exactly in integers, then
 * {@code acc = fma(isum, d_w * d_x, acc)}, block after block. {@link Q4VectorMatrix} computes the same
 * bits at every vector width.
 */
class Q4Matrix extends WeightMatrix {

    static final int BLOCK_BYTES = 18;

    Q4Matrix(GgufTensorInfo t) {
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
                    int xb = xo + b * InputBatch.QK;
                    int isum = 0;
                    for (int j = 0; j < 16; j++) {
                        int q = w.get(ValueLayout.JAVA_BYTE, bo + 2 + j);
                        isum += ((q & 0x0F) - 8) * (int) xq[xb + InputBatch.groupPosition(j)]
                                + (((q >> 4) & 0x0F) - 8) * (int) xq[xb + InputBatch.groupPosition(j + 16)];
                    }
                    sum = Math.fma((float) isum, HalfFloats.f16ToFloat(w.get(I16_LE, bo)) * xd[so + b], sum);
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
            int base = dstOffset + b * InputBatch.QK;
            for (int j = 0; j < 16; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, bo + 2 + j);
                dst[base + j] = ((q & 0x0F) - 8) * d;
                dst[base + j + 16] = (((q >> 4) & 0x0F) - 8) * d;
            }
        }
    }
}
