package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;
import static dev.baton.engine.tensor.VectorKernels.B16;
import static dev.baton.engine.tensor.VectorKernels.CHUNKS;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.PARTS;
import static dev.baton.engine.tensor.VectorKernels.sum;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 weights x Q8_0 input with the Vector API.
 *
 * <p>Per (row, vector) element the order is fixed: for each block, {@code p = 0; p = fma(w_c, x_c, p)}
 * over its chunks (an exact integer sum per lane: |p| &lt;= 32 * 127 * 128 &lt; 2^24), then
 * {@code acc = fma(p, d_w * d_x, acc)}; after the last block the lanes of {@code acc} are summed by
 * {@link VectorKernels#sum}. Tiles compute 4 rows x 1 vector or 1 row x 4 vectors at once (the
 * weights converted once for 4 vectors, or the input loaded once for 4 rows) with that same order.
 */
final class Q8VectorMatrix extends Q8Matrix {

    private static final int BB = BLOCK_BYTES;
    private static final int QK = InputBatch.QK;

    Q8VectorMatrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    public KernelMode mode() {
        return KernelMode.VECTOR;
    }

    @Override
    public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
        int n = in.vectorCount();
        int full = n & ~3;
        if (full > 0) {
            for (int r = rowStart; r < rowEnd; r++) {
                for (int v = 0; v < full; v += 4) {
                    tile1x4(in, r, v, out, outOffset + v * outStride + r, outStride);
                }
            }
        }
        for (int v = full; v < n; v++) {
            int o = outOffset + v * outStride;
            int r = rowStart;
            for (; r + 4 <= rowEnd; r += 4) {
                tile4x1(in, r, v, out, o + r);
            }
            for (; r < rowEnd; r++) {
                tile4x1Rest(in, r, v, out, o + r);
            }
        }
    }

    private static FloatVector chunk(MemorySegment w, long blockOffset, int c) {
        return VectorKernels.bytesToFloats(w, blockOffset + 2 + 16 * (c / PARTS), c % PARTS);
    }

    private static float scale(MemorySegment w, long blockOffset) {
        return Float.float16ToFloat(w.get(I16_LE, blockOffset));
    }

    private void tile1x4(InputBatch in, int r, int v, float[] out, int o, int outStride) {
        MemorySegment w = data;
        float[] xq = in.values;
        float[] xd = in.scales;
        int blocks = cols / QK;
        int x0 = v * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int s0 = v * blocks;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero;
        FloatVector a1 = zero;
        FloatVector a2 = zero;
        FloatVector a3 = zero;
        long bo = r * rowBytes;
        for (int b = 0; b < blocks; b++, bo += BB) {
            FloatVector p0 = zero;
            FloatVector p1 = zero;
            FloatVector p2 = zero;
            FloatVector p3 = zero;
            int xb = b * QK;
            for (int c = 0; c < CHUNKS; c++) {
                FloatVector wc = chunk(w, bo, c);
                int xi = xb + c * L;
                p0 = wc.fma(FloatVector.fromArray(F, xq, x0 + xi), p0);
                p1 = wc.fma(FloatVector.fromArray(F, xq, x1 + xi), p1);
                p2 = wc.fma(FloatVector.fromArray(F, xq, x2 + xi), p2);
                p3 = wc.fma(FloatVector.fromArray(F, xq, x3 + xi), p3);
            }
            float dw = scale(w, bo);
            a0 = p0.fma(FloatVector.broadcast(F, dw * xd[s0 + b]), a0);
            a1 = p1.fma(FloatVector.broadcast(F, dw * xd[s0 + blocks + b]), a1);
            a2 = p2.fma(FloatVector.broadcast(F, dw * xd[s0 + 2 * blocks + b]), a2);
            a3 = p3.fma(FloatVector.broadcast(F, dw * xd[s0 + 3 * blocks + b]), a3);
        }
        out[o] = sum(a0);
        out[o + outStride] = sum(a1);
        out[o + 2 * outStride] = sum(a2);
        out[o + 3 * outStride] = sum(a3);
    }

    private void tile4x1(InputBatch in, int r, int v, float[] out, int o) {
        MemorySegment w = data;
        float[] xq = in.values;
        float[] xd = in.scales;
        int blocks = cols / QK;
        int x0 = v * cols;
        int s0 = v * blocks;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero;
        FloatVector a1 = zero;
        FloatVector a2 = zero;
        FloatVector a3 = zero;
        long rb = rowBytes;
        long bo = r * rb;
        for (int b = 0; b < blocks; b++, bo += BB) {
            FloatVector p0 = zero;
            FloatVector p1 = zero;
            FloatVector p2 = zero;
            FloatVector p3 = zero;
            int xb = x0 + b * QK;
            for (int c = 0; c < CHUNKS; c++) {
                FloatVector xc = FloatVector.fromArray(F, xq, xb + c * L);
                p0 = chunk(w, bo, c).fma(xc, p0);
                p1 = chunk(w, bo + rb, c).fma(xc, p1);
                p2 = chunk(w, bo + 2 * rb, c).fma(xc, p2);
                p3 = chunk(w, bo + 3 * rb, c).fma(xc, p3);
            }
            float dx = xd[s0 + b];
            a0 = p0.fma(FloatVector.broadcast(F, scale(w, bo) * dx), a0);
            a1 = p1.fma(FloatVector.broadcast(F, scale(w, bo + rb) * dx), a1);
            a2 = p2.fma(FloatVector.broadcast(F, scale(w, bo + 2 * rb) * dx), a2);
            a3 = p3.fma(FloatVector.broadcast(F, scale(w, bo + 3 * rb) * dx), a3);
        }
        out[o] = sum(a0);
        out[o + 1] = sum(a1);
        out[o + 2] = sum(a2);
        out[o + 3] = sum(a3);
    }

    /** One row, one vector: the rows a 4-row tile leaves over. */
    private void tile4x1Rest(InputBatch in, int r, int v, float[] out, int o) {
        MemorySegment w = data;
        float[] xq = in.values;
        float[] xd = in.scales;
        int blocks = cols / QK;
        int x0 = v * cols;
        int s0 = v * blocks;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero;
        long bo = r * rowBytes;
        for (int b = 0; b < blocks; b++, bo += BB) {
            FloatVector p0 = zero;
            int xb = x0 + b * QK;
            for (int c = 0; c < CHUNKS; c++) {
                p0 = chunk(w, bo, c).fma(FloatVector.fromArray(F, xq, xb + c * L), p0);
            }
            a0 = p0.fma(FloatVector.broadcast(F, scale(w, bo) * xd[s0 + b]), a0);
        }
        out[o] = sum(a0);
    }
}
