package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.S;
import static dev.baton.engine.tensor.VectorKernels.sum;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * F16 weights x F16-rounded input with the Vector API (weights widened to float lanes exactly).
 *
 * <p>Per (row, vector) element the order is fixed: {@code acc = fma(w_i, x_i, acc)} over the
 * {@code L}-wide chunks in order, the lanes summed by {@link VectorKernels#sum}, then the columns
 * past the last whole chunk added one by one with {@code Math.fma}. Tiles compute 2 rows x 1 vector
 * or 1 row x 4 vectors at once with that same order.
 */
final class F16VectorMatrix extends F16Matrix {

    /** Bytes per weight element. */
    private static final int EB = 2;

    F16VectorMatrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    public KernelMode mode() {
        return KernelMode.VECTOR;
    }

    private static FloatVector chunk(MemorySegment w, long offset) {
        return VectorKernels.f16ToFloat(ShortVector.fromMemorySegment(S, w, offset, LE));
    }

    private static float element(MemorySegment w, long offset) {
        return HalfFloats.f16ToFloat(w.get(I16_LE, offset));
    }

    @Override
    public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
        int n = in.vectorCount();
        int full = n & ~3;
        if (full > 0) {
            for (int r = rowStart; r < rowEnd; r++) {
                for (int v = 0; v < full; v += 4) {
                    tile1x4(in.values, r, v, out, outOffset + v * outStride + r, outStride);
                }
            }
        }
        for (int v = full; v < n; v++) {
            int o = outOffset + v * outStride;
            int r = rowStart;
            for (; r + 2 <= rowEnd; r += 2) {
                tile2x1(in.values, r, v, out, o + r);
            }
            for (; r < rowEnd; r++) {
                tile1x1(in.values, r, v, out, o + r);
            }
        }
    }

    private void tile1x4(float[] x, int r, int v, float[] out, int o, int outStride) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        int x1 = x0 + n;
        int x2 = x1 + n;
        int x3 = x2 + n;
        long wo = r * rowBytes;
        int upper = n - n % L;
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero;
        FloatVector a1 = zero;
        FloatVector a2 = zero;
        FloatVector a3 = zero;
        for (int i = 0; i < upper; i += L) {
            FloatVector wc = chunk(w, wo + (long) EB * i);
            a0 = wc.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = wc.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = wc.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = wc.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float s0 = sum(a0);
        float s1 = sum(a1);
        float s2 = sum(a2);
        float s3 = sum(a3);
        for (int i = upper; i < n; i++) {
            float wi = element(w, wo + (long) EB * i);
            s0 = Math.fma(wi, x[x0 + i], s0);
            s1 = Math.fma(wi, x[x1 + i], s1);
            s2 = Math.fma(wi, x[x2 + i], s2);
            s3 = Math.fma(wi, x[x3 + i], s3);
        }
        out[o] = s0;
        out[o + outStride] = s1;
        out[o + 2 * outStride] = s2;
        out[o + 3 * outStride] = s3;
    }

    /** Two rows (not four: four fp16 conversions per step overflow C2's inlining node budget). */
    private void tile2x1(float[] x, int r, int v, float[] out, int o) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        long w0 = r * rowBytes;
        long w1 = w0 + rowBytes;
        int upper = n - n % L;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int i = 0; i < upper; i += L) {
            FloatVector xc = FloatVector.fromArray(F, x, x0 + i);
            long off = (long) EB * i;
            a0 = chunk(w, w0 + off).fma(xc, a0);
            a1 = chunk(w, w1 + off).fma(xc, a1);
        }
        float s0 = sum(a0);
        float s1 = sum(a1);
        for (int i = upper; i < n; i++) {
            float xi = x[x0 + i];
            long off = (long) EB * i;
            s0 = Math.fma(element(w, w0 + off), xi, s0);
            s1 = Math.fma(element(w, w1 + off), xi, s1);
        }
        out[o] = s0;
        out[o + 1] = s1;
    }

    private void tile1x1(float[] x, int r, int v, float[] out, int o) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        long wo = r * rowBytes;
        int upper = n - n % L;
        FloatVector a0 = FloatVector.zero(F);
        for (int i = 0; i < upper; i += L) {
            a0 = chunk(w, wo + (long) EB * i).fma(FloatVector.fromArray(F, x, x0 + i), a0);
        }
        float s0 = sum(a0);
        for (int i = upper; i < n; i++) {
            s0 = Math.fma(element(w, wo + (long) EB * i), x[x0 + i], s0);
        }
        out[o] = s0;
    }
}
