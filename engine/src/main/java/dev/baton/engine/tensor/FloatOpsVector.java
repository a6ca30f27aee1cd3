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

    /** Bytes, one per float lane: the int8 values of a Q8_0 block, L at a time (null below 8 lanes: no such shape). */
    private static final jdk.incubator.vector.VectorSpecies<Byte> B = L >= 8
            ? jdk.incubator.vector.VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(L * 8)) : null;

    /** Whether the Q8_0 row kernels below run here (8 or more float lanes). */
    static boolean q8_0Rows() {
        return B != null;
    }

    /**
     * {@code sum(a[ao+i] * x[i])} over Q8_0 blocks: per block the lanes' fma chains over the integers (as floats),
     * then {@code acc = fma(blockSums, d, acc)} lanewise, the lanes summed pairwise at the end. A fixed order, so the
     * same bits for a row whatever the batch or thread (other widths round differently).
     */
    static float dotQ8_0(float[] a, int ao, MemorySegment b, long bOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int blk = 0; blk < n / 32; blk++) {
            long at = bOff + 34L * blk;
            float d = Float.float16ToFloat(b.get(I16_LE, at));
            int base = ao + blk * 32;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) {
                FloatVector q = (FloatVector) jdk.incubator.vector.ByteVector.fromMemorySegment(B, b, at + 2 + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                s = FloatVector.fromArray(F, a, base + j).fma(q, s);
            }
            acc = s.fma(FloatVector.broadcast(F, d), acc);
        }
        if (L == 16) {
            acc = acc.add(acc.rearrange(SWAP8));
        }
        acc = acc.add(acc.rearrange(SWAP4));
        acc = acc.add(acc.rearrange(SWAP2));
        return acc.add(acc.rearrange(SWAP1)).lane(0);
    }

    /** {@code y[yo+i] += alpha * d * q[i]} over Q8_0 blocks: lanewise {@code fma(alpha * d, q, y)}, the scalar bits. */
    static void axpyQ8_0(float alpha, MemorySegment x, long xOff, float[] y, int yo, int n) {
        for (int blk = 0; blk < n / 32; blk++) {
            long at = xOff + 34L * blk;
            FloatVector ad = FloatVector.broadcast(F, alpha * Float.float16ToFloat(x.get(I16_LE, at)));
            int base = yo + blk * 32;
            for (int j = 0; j < 32; j += L) {
                FloatVector q = (FloatVector) jdk.incubator.vector.ByteVector.fromMemorySegment(B, x, at + 2 + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                ad.fma(q, FloatVector.fromArray(F, y, base + j)).intoArray(y, base + j);
            }
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
