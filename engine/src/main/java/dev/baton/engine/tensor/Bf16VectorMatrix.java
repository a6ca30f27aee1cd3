package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.I;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.S;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

// Generated from a template: edit the generator's output by hand only with care (see the class comment).
/**
 * BF16 weights x BF16-rounded input with the Vector API. Generated tile methods (see {@link VectorKernels} for why
 * they are written out): 1 row(s) x 4 vectors per pass for whole groups of 4 vectors,
 * 4 row(s) x 1 vector for the vectors left over, then single rows.
 *
 * <p>Every (row, vector) element has the same fixed order whatever tile computes it:
 * {@code acc = fma(w_i, x_i, acc)} over the {@code L}-wide chunks in order, the lanes summed by
 * {@link VectorKernels#sumLanes}, then the columns past the last whole chunk added one by one
 * with {@code Math.fma}.
 */
final class Bf16VectorMatrix extends Bf16Matrix {

    Bf16VectorMatrix(GgufTensorInfo t) {
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
                    tile1x4(in.values, tmp, r, v, out, outOffset + v * outStride + r, outStride);
                }
            }
        }
        for (int v = full; v < n; v++) {
            int o = outOffset + v * outStride;
            int r = rowStart;
            for (; r + 4 <= rowEnd; r += 4) {
                tile4x1(in.values, tmp, r, v, out, o + r, outStride);
            }
            for (; r < rowEnd; r++) {
                tile1x1(in.values, tmp, r, v, out, o + r, outStride);
            }
        }
    }

    private void tile1x4(float[] x, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        int x1 = x0 + n;
        int x2 = x1 + n;
        int x3 = x2 + n;
        long w0 = r * rowBytes;
        int upper = n - n % L;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = a00;
        FloatVector a02 = a00;
        FloatVector a03 = a00;
        for (int i = 0; i < upper; i += L) {
            long off = 2L * i;
            FloatVector w0c = ((IntVector) ShortVector.fromMemorySegment(S, w, w0 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a00 = w0c.fma(FloatVector.fromArray(F, x, x0 + i), a00);
            a01 = w0c.fma(FloatVector.fromArray(F, x, x1 + i), a01);
            a02 = w0c.fma(FloatVector.fromArray(F, x, x2 + i), a02);
            a03 = w0c.fma(FloatVector.fromArray(F, x, x3 + i), a03);
        }
        a00.intoArray(tmp, 0 * L);
        a01.intoArray(tmp, 1 * L);
        a02.intoArray(tmp, 2 * L);
        a03.intoArray(tmp, 3 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 4, out, o + 0, step);
        for (int i = upper; i < n; i++) {
            float e0 = HalfFloats.bf16ToFloat(w.get(I16_LE, w0 + 2L * i));
            out[o + 0 * step + 0] = Math.fma(e0, x[x0 + i], out[o + 0 * step + 0]);
            out[o + 1 * step + 0] = Math.fma(e0, x[x1 + i], out[o + 1 * step + 0]);
            out[o + 2 * step + 0] = Math.fma(e0, x[x2 + i], out[o + 2 * step + 0]);
            out[o + 3 * step + 0] = Math.fma(e0, x[x3 + i], out[o + 3 * step + 0]);
        }
    }

    private void tile4x1(float[] x, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        long w0 = r * rowBytes;
        long w1 = w0 + rowBytes;
        long w2 = w1 + rowBytes;
        long w3 = w2 + rowBytes;
        int upper = n - n % L;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = a00;
        FloatVector a20 = a00;
        FloatVector a30 = a00;
        for (int i = 0; i < upper; i += L) {
            long off = 2L * i;
            FloatVector x0c = FloatVector.fromArray(F, x, x0 + i);
            FloatVector w0c = ((IntVector) ShortVector.fromMemorySegment(S, w, w0 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a00 = w0c.fma(x0c, a00);
            FloatVector w1c = ((IntVector) ShortVector.fromMemorySegment(S, w, w1 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a10 = w1c.fma(x0c, a10);
            FloatVector w2c = ((IntVector) ShortVector.fromMemorySegment(S, w, w2 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a20 = w2c.fma(x0c, a20);
            FloatVector w3c = ((IntVector) ShortVector.fromMemorySegment(S, w, w3 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a30 = w3c.fma(x0c, a30);
        }
        a00.intoArray(tmp, 0 * L);
        a10.intoArray(tmp, 1 * L);
        a20.intoArray(tmp, 2 * L);
        a30.intoArray(tmp, 3 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 1, out, o + 0, step);
        VectorKernels.sumLanes(tmp, 1 * L, 1, out, o + 1, step);
        VectorKernels.sumLanes(tmp, 2 * L, 1, out, o + 2, step);
        VectorKernels.sumLanes(tmp, 3 * L, 1, out, o + 3, step);
        for (int i = upper; i < n; i++) {
            float e0 = HalfFloats.bf16ToFloat(w.get(I16_LE, w0 + 2L * i));
            float e1 = HalfFloats.bf16ToFloat(w.get(I16_LE, w1 + 2L * i));
            float e2 = HalfFloats.bf16ToFloat(w.get(I16_LE, w2 + 2L * i));
            float e3 = HalfFloats.bf16ToFloat(w.get(I16_LE, w3 + 2L * i));
            out[o + 0 * step + 0] = Math.fma(e0, x[x0 + i], out[o + 0 * step + 0]);
            out[o + 0 * step + 1] = Math.fma(e1, x[x0 + i], out[o + 0 * step + 1]);
            out[o + 0 * step + 2] = Math.fma(e2, x[x0 + i], out[o + 0 * step + 2]);
            out[o + 0 * step + 3] = Math.fma(e3, x[x0 + i], out[o + 0 * step + 3]);
        }
    }

    private void tile1x1(float[] x, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        long w0 = r * rowBytes;
        int upper = n - n % L;
        FloatVector a00 = FloatVector.zero(F);
        for (int i = 0; i < upper; i += L) {
            long off = 2L * i;
            FloatVector w0c = ((IntVector) ShortVector.fromMemorySegment(S, w, w0 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a00 = w0c.fma(FloatVector.fromArray(F, x, x0 + i), a00);
        }
        a00.intoArray(tmp, 0 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 1, out, o + 0, step);
        for (int i = upper; i < n; i++) {
            float e0 = HalfFloats.bf16ToFloat(w.get(I16_LE, w0 + 2L * i));
            out[o + 0 * step + 0] = Math.fma(e0, x[x0 + i], out[o + 0 * step + 0]);
        }
    }
}
