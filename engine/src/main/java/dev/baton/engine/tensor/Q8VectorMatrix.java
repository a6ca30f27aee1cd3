package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;
import static dev.baton.engine.tensor.VectorKernels.B32;
import static dev.baton.engine.tensor.VectorKernels.CHUNKS;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

// Generated from a template: edit the generator's output by hand only with care (see the class comment).
/**
 * Q8_0 weights x Q8_0 input with the Vector API. Generated tile methods (see {@link VectorKernels} for why
 * they are written out): 1 row(s) x 4 vectors per pass for whole groups of 4 vectors,
 * 4 row(s) x 1 vector for the vectors left over, then single rows.
 *
 * <p>Every (row, vector) element has the same fixed order whatever tile computes it:
 * {@code p = 0; p = fma(w_c, x_c, p)} over the block's chunks (an exact integer sum in
 * each lane: |p| < 2^24), then {@code acc = fma(p, d_w * d_x, acc)}, block after block; the lanes
 * of {@code acc} are then summed by {@link VectorKernels#sumLanes}.
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
        float[] tmp = VectorKernels.scratch();
        int n = in.vectorCount();
        int full = n - n % 4;
        if (full > 0) {
            int r = rowStart;
            for (; r < rowEnd; r++) {
                for (int v = 0; v < full; v += 4) {
                    tile1x4(in.values, in.scales, tmp, r, v, out, outOffset + v * outStride + r, outStride);
                }
            }
        }
        for (int v = full; v < n; v++) {
            int o = outOffset + v * outStride;
            int r = rowStart;
            for (; r + 4 <= rowEnd; r += 4) {
                tile4x1(in.values, in.scales, tmp, r, v, out, o + r, outStride);
            }
            for (; r < rowEnd; r++) {
                tile1x1(in.values, in.scales, tmp, r, v, out, o + r, outStride);
            }
        }
    }

    private void tile1x4(float[] xq, float[] xd, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int blocks = cols / QK;
        int x0 = v * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int d0 = v * blocks;
        int d1 = d0 + blocks;
        int d2 = d1 + blocks;
        int d3 = d2 + blocks;
        long rb = rowBytes;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero;
        FloatVector a01 = zero;
        FloatVector a02 = zero;
        FloatVector a03 = zero;
        long bo = r * rb;
        for (int b = 0; b < blocks; b++, bo += BB) {
            int xb = b * QK;
            ByteVector q0 = ByteVector.fromMemorySegment(B32, w, bo + 2, LE);
            float dw0 = Float.float16ToFloat(w.get(I16_LE, bo));
            FloatVector p00 = zero;
            FloatVector p01 = zero;
            FloatVector p02 = zero;
            FloatVector p03 = zero;
            for (int c = 0; c < CHUNKS; c++) {
                FloatVector w0c = (FloatVector) q0.convertShape(VectorOperators.B2F, F, c);
                p00 = w0c.fma(FloatVector.fromArray(F, xq, x0 + xb + c * L), p00);
                p01 = w0c.fma(FloatVector.fromArray(F, xq, x1 + xb + c * L), p01);
                p02 = w0c.fma(FloatVector.fromArray(F, xq, x2 + xb + c * L), p02);
                p03 = w0c.fma(FloatVector.fromArray(F, xq, x3 + xb + c * L), p03);
            }
            a00 = p00.fma(FloatVector.broadcast(F, dw0 * xd[d0 + b]), a00);
            a01 = p01.fma(FloatVector.broadcast(F, dw0 * xd[d1 + b]), a01);
            a02 = p02.fma(FloatVector.broadcast(F, dw0 * xd[d2 + b]), a02);
            a03 = p03.fma(FloatVector.broadcast(F, dw0 * xd[d3 + b]), a03);
        }
        a00.intoArray(tmp, 0 * L);
        a01.intoArray(tmp, 1 * L);
        a02.intoArray(tmp, 2 * L);
        a03.intoArray(tmp, 3 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 4, out, o + 0, step);
    }

    private void tile4x1(float[] xq, float[] xd, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int blocks = cols / QK;
        int x0 = v * cols;
        int d0 = v * blocks;
        long rb = rowBytes;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero;
        FloatVector a10 = zero;
        FloatVector a20 = zero;
        FloatVector a30 = zero;
        long bo = r * rb;
        for (int b = 0; b < blocks; b++, bo += BB) {
            int xb = b * QK;
            ByteVector q0 = ByteVector.fromMemorySegment(B32, w, bo + 2, LE);
            float dw0 = Float.float16ToFloat(w.get(I16_LE, bo));
            ByteVector q1 = ByteVector.fromMemorySegment(B32, w, bo + rb + 2, LE);
            float dw1 = Float.float16ToFloat(w.get(I16_LE, bo + rb));
            ByteVector q2 = ByteVector.fromMemorySegment(B32, w, bo + 2 * rb + 2, LE);
            float dw2 = Float.float16ToFloat(w.get(I16_LE, bo + 2 * rb));
            ByteVector q3 = ByteVector.fromMemorySegment(B32, w, bo + 3 * rb + 2, LE);
            float dw3 = Float.float16ToFloat(w.get(I16_LE, bo + 3 * rb));
            FloatVector p00 = zero;
            FloatVector p10 = zero;
            FloatVector p20 = zero;
            FloatVector p30 = zero;
            for (int c = 0; c < CHUNKS; c++) {
                FloatVector x0c = FloatVector.fromArray(F, xq, x0 + xb + c * L);
                FloatVector w0c = (FloatVector) q0.convertShape(VectorOperators.B2F, F, c);
                p00 = w0c.fma(x0c, p00);
                FloatVector w1c = (FloatVector) q1.convertShape(VectorOperators.B2F, F, c);
                p10 = w1c.fma(x0c, p10);
                FloatVector w2c = (FloatVector) q2.convertShape(VectorOperators.B2F, F, c);
                p20 = w2c.fma(x0c, p20);
                FloatVector w3c = (FloatVector) q3.convertShape(VectorOperators.B2F, F, c);
                p30 = w3c.fma(x0c, p30);
            }
            a00 = p00.fma(FloatVector.broadcast(F, dw0 * xd[d0 + b]), a00);
            a10 = p10.fma(FloatVector.broadcast(F, dw1 * xd[d0 + b]), a10);
            a20 = p20.fma(FloatVector.broadcast(F, dw2 * xd[d0 + b]), a20);
            a30 = p30.fma(FloatVector.broadcast(F, dw3 * xd[d0 + b]), a30);
        }
        a00.intoArray(tmp, 0 * L);
        a10.intoArray(tmp, 1 * L);
        a20.intoArray(tmp, 2 * L);
        a30.intoArray(tmp, 3 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 1, out, o + 0, step);
        VectorKernels.sumLanes(tmp, 1 * L, 1, out, o + 1, step);
        VectorKernels.sumLanes(tmp, 2 * L, 1, out, o + 2, step);
        VectorKernels.sumLanes(tmp, 3 * L, 1, out, o + 3, step);
    }

    private void tile1x1(float[] xq, float[] xd, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int blocks = cols / QK;
        int x0 = v * cols;
        int d0 = v * blocks;
        long rb = rowBytes;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero;
        long bo = r * rb;
        for (int b = 0; b < blocks; b++, bo += BB) {
            int xb = b * QK;
            ByteVector q0 = ByteVector.fromMemorySegment(B32, w, bo + 2, LE);
            float dw0 = Float.float16ToFloat(w.get(I16_LE, bo));
            FloatVector p00 = zero;
            for (int c = 0; c < CHUNKS; c++) {
                FloatVector w0c = (FloatVector) q0.convertShape(VectorOperators.B2F, F, c);
                p00 = w0c.fma(FloatVector.fromArray(F, xq, x0 + xb + c * L), p00);
            }
            a00 = p00.fma(FloatVector.broadcast(F, dw0 * xd[d0 + b]), a00);
        }
        a00.intoArray(tmp, 0 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 1, out, o + 0, step);
    }
}
