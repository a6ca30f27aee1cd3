package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.F32_LE;
import static dev.baton.engine.tensor.HalfFloats.I16_LE;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.F16_REBIAS;
import static dev.baton.engine.tensor.VectorKernels.I;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.S;
import static dev.baton.engine.tensor.VectorKernels.SWAP1;
import static dev.baton.engine.tensor.VectorKernels.SWAP2;
import static dev.baton.engine.tensor.VectorKernels.SWAP4;
import static dev.baton.engine.tensor.VectorKernels.SWAP8;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector API versions of the {@link FloatOps} loops, loaded only where the Vector API is usable.
 * As in the matmul kernels, no vector crosses a method call (see {@link VectorKernels}). The dot
 * products sum {@code L}-wide chunks with fma, the lanes pairwise (i^8, ^4, ^2, ^1) and the tail
 * one by one; {@code axpy} and the rmsnorm scaling are lanewise and bit-identical to the scalar loops.
 */
final class FloatOpsVector {

    private FloatOpsVector() {}

    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int upper = n - n % L;
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < upper; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        if (L == 16) {
            acc = acc.add(acc.rearrange(SWAP8));
        }
        acc = acc.add(acc.rearrange(SWAP4));
        acc = acc.add(acc.rearrange(SWAP2));
        float s = acc.add(acc.rearrange(SWAP1)).lane(0);
        for (int i = upper; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    static float dotF32(float[] a, int ao, MemorySegment b, long bOff, int n) {
        int upper = n - n % L;
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < upper; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromMemorySegment(F, b, bOff + 4L * i, LE), acc);
        }
        if (L == 16) {
            acc = acc.add(acc.rearrange(SWAP8));
        }
        acc = acc.add(acc.rearrange(SWAP4));
        acc = acc.add(acc.rearrange(SWAP2));
        float s = acc.add(acc.rearrange(SWAP1)).lane(0);
        for (int i = upper; i < n; i++) {
            s = Math.fma(a[ao + i], b.get(F32_LE, bOff + 4L * i), s);
        }
        return s;
    }

    static float dotF16(float[] a, int ao, MemorySegment b, long bOff, int n) {
        int upper = n - n % L;
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < upper; i += L) {
            // fp16 to float, exact: see F16VectorMatrix.
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, b, bOff + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector e = h.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector bv = e.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(e.or(0x70000000), h.and(0x7C00).eq(0x7C00))
                    .or(h.and(0x80000000)).reinterpretAsFloats();
            acc = FloatVector.fromArray(F, a, ao + i).fma(bv, acc);
        }
        if (L == 16) {
            acc = acc.add(acc.rearrange(SWAP8));
        }
        acc = acc.add(acc.rearrange(SWAP4));
        acc = acc.add(acc.rearrange(SWAP2));
        float s = acc.add(acc.rearrange(SWAP1)).lane(0);
        for (int i = upper; i < n; i++) {
            s = Math.fma(a[ao + i], Float.float16ToFloat(b.get(I16_LE, bOff + 2L * i)), s);
        }
        return s;
    }

    static void axpyF32(float alpha, MemorySegment x, long xOff, float[] y, int yo, int n) {
        int upper = n - n % L;
        FloatVector av = FloatVector.broadcast(F, alpha);
        for (int i = 0; i < upper; i += L) {
            FloatVector.fromMemorySegment(F, x, xOff + 4L * i, LE).fma(av, FloatVector.fromArray(F, y, yo + i))
                    .intoArray(y, yo + i);
        }
        for (int i = upper; i < n; i++) {
            y[yo + i] = Math.fma(alpha, x.get(F32_LE, xOff + 4L * i), y[yo + i]);
        }
    }

    static void axpyF16(float alpha, MemorySegment x, long xOff, float[] y, int yo, int n) {
        int upper = n - n % L;
        FloatVector av = FloatVector.broadcast(F, alpha);
        for (int i = 0; i < upper; i += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, x, xOff + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector e = h.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector xv = e.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(e.or(0x70000000), h.and(0x7C00).eq(0x7C00))
                    .or(h.and(0x80000000)).reinterpretAsFloats();
            xv.fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (int i = upper; i < n; i++) {
            y[yo + i] = Math.fma(alpha, Float.float16ToFloat(x.get(I16_LE, xOff + 2L * i)), y[yo + i]);
        }
    }

    static void storeF32(float[] src, int so, MemorySegment dst, long dstOff, int n) {
        int upper = n - n % L;
        for (int i = 0; i < upper; i += L) {
            FloatVector.fromArray(F, src, so + i).intoMemorySegment(dst, dstOff + 4L * i, LE);
        }
        for (int i = upper; i < n; i++) {
            dst.set(F32_LE, dstOff + 4L * i, src[so + i]);
        }
    }

    /** {@code out[oo+i] = x[xo+i] * scale * weight[i]}, lanewise: the same bits as the scalar loop. */
    static void scale(float[] out, int oo, float[] x, int xo, float scale, float[] weight, int n) {
        int upper = n - n % L;
        for (int i = 0; i < upper; i += L) {
            FloatVector.fromArray(F, x, xo + i).mul(scale).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, oo + i);
        }
        for (int i = upper; i < n; i++) {
            out[oo + i] = x[xo + i] * scale * weight[i];
        }
    }
}
