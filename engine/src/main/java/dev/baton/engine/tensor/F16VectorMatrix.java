package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.F16_REBIAS;
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
 * F16 weights x F16-rounded input with the Vector API. Generated tile methods (see {@link VectorKernels} for why
 * they are written out): 1 row(s) x 4 vectors per pass for whole groups of 4 vectors,
 * 2 row(s) x 1 vector for the vectors left over, then single rows.
 *
 * <p>Every (row, vector) element has the same fixed order whatever tile computes it:
 * {@code acc = fma(w_i, x_i, acc)} over the {@code L}-wide chunks in order, the lanes summed by
 * {@link VectorKernels#sumLanes}, then the columns past the last whole chunk added one by one
 * with {@code Math.fma}.
 *
 * <p>fp16 lanes become floats exactly, subnormals, infinities and NaNs included: exponent and
 * mantissa move to their float positions, a multiply by 2^112 rebiases the exponent (and
 * normalizes subnormals), exponent 31 maps to 255, and the sign is put back.
 */
final class F16VectorMatrix extends F16Matrix {

    F16VectorMatrix(GgufTensorInfo t) {
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
            for (; r + 2 <= rowEnd; r += 2) {
                tile2x1(in.values, tmp, r, v, out, o + r, outStride);
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
            IntVector w0ch = (IntVector) ShortVector.fromMemorySegment(S, w, w0 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector w0ce = w0ch.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector w0c = w0ce.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(w0ce.or(0x70000000), w0ch.and(0x7C00).eq(0x7C00))
                    .or(w0ch.and(0x80000000)).reinterpretAsFloats();
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
            float e0 = Float.float16ToFloat(w.get(I16_LE, w0 + 2L * i));
            out[o + 0 * step + 0] = Math.fma(e0, x[x0 + i], out[o + 0 * step + 0]);
            out[o + 1 * step + 0] = Math.fma(e0, x[x1 + i], out[o + 1 * step + 0]);
            out[o + 2 * step + 0] = Math.fma(e0, x[x2 + i], out[o + 2 * step + 0]);
            out[o + 3 * step + 0] = Math.fma(e0, x[x3 + i], out[o + 3 * step + 0]);
        }
    }

    private void tile2x1(float[] x, float[] tmp, int r, int v, float[] out, int o, int step) {
        MemorySegment w = data;
        int n = cols;
        int x0 = v * n;
        long w0 = r * rowBytes;
        long w1 = w0 + rowBytes;
        int upper = n - n % L;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = a00;
        for (int i = 0; i < upper; i += L) {
            long off = 2L * i;
            FloatVector x0c = FloatVector.fromArray(F, x, x0 + i);
            IntVector w0ch = (IntVector) ShortVector.fromMemorySegment(S, w, w0 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector w0ce = w0ch.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector w0c = w0ce.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(w0ce.or(0x70000000), w0ch.and(0x7C00).eq(0x7C00))
                    .or(w0ch.and(0x80000000)).reinterpretAsFloats();
            a00 = w0c.fma(x0c, a00);
            IntVector w1ch = (IntVector) ShortVector.fromMemorySegment(S, w, w1 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector w1ce = w1ch.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector w1c = w1ce.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(w1ce.or(0x70000000), w1ch.and(0x7C00).eq(0x7C00))
                    .or(w1ch.and(0x80000000)).reinterpretAsFloats();
            a10 = w1c.fma(x0c, a10);
        }
        a00.intoArray(tmp, 0 * L);
        a10.intoArray(tmp, 1 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 1, out, o + 0, step);
        VectorKernels.sumLanes(tmp, 1 * L, 1, out, o + 1, step);
        for (int i = upper; i < n; i++) {
            float e0 = Float.float16ToFloat(w.get(I16_LE, w0 + 2L * i));
            float e1 = Float.float16ToFloat(w.get(I16_LE, w1 + 2L * i));
            out[o + 0 * step + 0] = Math.fma(e0, x[x0 + i], out[o + 0 * step + 0]);
            out[o + 0 * step + 1] = Math.fma(e1, x[x0 + i], out[o + 0 * step + 1]);
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
            IntVector w0ch = (IntVector) ShortVector.fromMemorySegment(S, w, w0 + off, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector w0ce = w0ch.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector w0c = w0ce.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(w0ce.or(0x70000000), w0ch.and(0x7C00).eq(0x7C00))
                    .or(w0ch.and(0x80000000)).reinterpretAsFloats();
            a00 = w0c.fma(FloatVector.fromArray(F, x, x0 + i), a00);
        }
        a00.intoArray(tmp, 0 * L);
        VectorKernels.sumLanes(tmp, 0 * L, 1, out, o + 0, step);
        for (int i = upper; i < n; i++) {
            float e0 = Float.float16ToFloat(w.get(I16_LE, w0 + 2L * i));
            out[o + 0 * step + 0] = Math.fma(e0, x[x0 + i], out[o + 0 * step + 0]);
        }
    }
}
