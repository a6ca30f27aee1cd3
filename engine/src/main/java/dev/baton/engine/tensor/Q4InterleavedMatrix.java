package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.F16_REBIAS;
import static dev.baton.engine.tensor.VectorKernels.I;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.S;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_0 weights x Q8_0 input with the Vector API, one float lane per weight row, on a copy of the weights
 * interleaved by rows when the matrix is opened (as llama.cpp repacks Q4_0 to {@code q4_0_8x8} on x86).
 *
 * <p>Rows are taken in groups of {@code L} (the machine's float lanes). For each group and block the copy
 * holds the {@code L} rows' fp16 scales, then for each of the 16 byte positions {@code k} the {@code L} rows'
 * byte {@code k} (low nibble: element {@code k}, high nibble: element {@code k + 16}):
 * <pre>
 *   [group][block]: d[row 0..L)  fp16 | qs[k = 0][row 0..L) | qs[1][row 0..L) | ... | qs[15][row 0..L)
 * </pre>
 * 18 bytes per row and block, as in the file. A dot product multiplies the lanes' weights by one input
 * element broadcast to all lanes, so lane {@code r} sums row {@code r}'s block in exact integers (all
 * partial sums stay below 2^24), with no sum across lanes: the nibbles as they are, then minus 8 times the
 * input block's sum ({@link InputBatch#offsets}), which is {@code sum((q - 8) * x)} exactly; then
 * {@code acc = fma(isum, d_w * d_x, acc)}
 * per lane, block after block: exactly {@link Q4Matrix}'s arithmetic, so the bits do not depend on the
 * vector width, the group a row falls in, the batch or the thread. Rows outside whole groups of the
 * requested range run {@link Q4Matrix}'s scalar kernel (the same bits).
 *
 * <p>Tiles: two groups by 4 input vectors (each widened weight vector serves the 4 vectors, each broadcast input
 * element both groups), one group by 4, and one group by 1.
 * Needs at least 8 float lanes (AVX2, AVX-512); narrower machines use {@link Q4VectorMatrix}.
 */
final class Q4InterleavedMatrix extends Q4Matrix {

    /** {@code L} bytes: one byte position of a group's rows. */
    private static final VectorSpecies<Byte> BL = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final int QK = InputBatch.QK;
    /** Bytes of one group's block: L fp16 scales, then 16 x L bytes of nibbles. */
    private static final int GROUP_BLOCK = 18 * L;
    /** Where element k (0..31) of a Q8_0 input block is stored (group order, see InputBatch). */
    private static final int[] POS = new int[QK];

    static {
        for (int j = 0; j < QK; j++) {
            POS[j] = InputBatch.groupPosition(j);
        }
    }

    private final MemorySegment packed;
    private final int groups;

    Q4InterleavedMatrix(GgufTensorInfo t) {
        super(t);
        if (L < 8) {
            throw new IllegalStateException("Q4InterleavedMatrix needs 8 or more float lanes, this machine has " + L);
        }
        this.groups = rows / L;
        int blocks = cols / QK;
        this.packed = Arena.ofAuto().allocate((long) groups * blocks * GROUP_BLOCK, 64);
        for (int g = 0; g < groups; g++) {
            for (int b = 0; b < blocks; b++) {
                long dst = ((long) g * blocks + b) * GROUP_BLOCK;
                for (int r = 0; r < L; r++) {
                    long src = (long) (g * L + r) * rowBytes + (long) b * BLOCK_BYTES;
                    packed.set(ValueLayout.JAVA_SHORT_UNALIGNED, dst + 2L * r, data.get(HalfFloats.I16_LE, src));
                    for (int k = 0; k < 16; k++) {
                        packed.set(ValueLayout.JAVA_BYTE, dst + 2L * L + (long) k * L + r,
                                data.get(ValueLayout.JAVA_BYTE, src + 2 + k));
                    }
                }
            }
        }
    }

    @Override
    public KernelMode mode() {
        return KernelMode.VECTOR;
    }

    @Override
    public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
        int g0 = (rowStart + L - 1) / L;
        int g1 = Math.min(rowEnd / L, groups);
        if (g0 >= g1) {
            super.matmul(in, out, outOffset, outStride, rowStart, rowEnd);
            return;
        }
        if (rowStart < g0 * L) {
            super.matmul(in, out, outOffset, outStride, rowStart, g0 * L);
        }
        if (g1 * L < rowEnd) {
            super.matmul(in, out, outOffset, outStride, g1 * L, rowEnd);
        }
        int n = in.vectorCount();
        int full = n - n % 4;
        int g = g0;
        for (; g + 2 <= g1; g += 2) {
            for (int v = 0; v < full; v += 4) {
                tile2x4(in.values, in.scales, in.offsets, g, v, out, outOffset + v * outStride + g * L, outStride);
            }
            for (int v = full; v < n; v++) {
                tile1(in.values, in.scales, in.offsets, g, v, out, outOffset + v * outStride + g * L);
                tile1(in.values, in.scales, in.offsets, g + 1, v, out, outOffset + v * outStride + (g + 1) * L);
            }
        }
        for (; g < g1; g++) {
            for (int v = 0; v < full; v += 4) {
                tile4(in.values, in.scales, in.offsets, g, v, out, outOffset + v * outStride + g * L, outStride);
            }
            for (int v = full; v < n; v++) {
                tile1(in.values, in.scales, in.offsets, g, v, out, outOffset + v * outStride + g * L);
            }
        }
    }

    private void tile1(float[] xq, float[] xd, float[] off, int g, int v, float[] out, int o) {
        MemorySegment w = packed;
        int blocks = cols / QK;
        int x0 = v * cols;
        int d0 = v * blocks;
        FloatVector acc = FloatVector.zero(F);
        long base = (long) g * blocks * GROUP_BLOCK;
        for (int b = 0; b < blocks; b++) {
            long bo = base + (long) b * GROUP_BLOCK;
            long qo = bo + 2L * L;
            int xb = x0 + b * QK;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            FloatVector s2 = FloatVector.zero(F);
            FloatVector s3 = FloatVector.zero(F);
            for (int k = 0; k < 16; k += 2) {
                ByteVector q = ByteVector.fromMemorySegment(BL, w, qo + (long) k * L, LE);
                FloatVector lo = ((FloatVector) q.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0));
                FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0));
                s0 = lo.fma(FloatVector.broadcast(F, xq[xb + POS[k]]), s0);
                s1 = hi.fma(FloatVector.broadcast(F, xq[xb + POS[k + 16]]), s1);
                ByteVector q1 = ByteVector.fromMemorySegment(BL, w, qo + (long) (k + 1) * L, LE);
                FloatVector lo1 = ((FloatVector) q1.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0));
                FloatVector hi1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0));
                s2 = lo1.fma(FloatVector.broadcast(F, xq[xb + POS[k + 1]]), s2);
                s3 = hi1.fma(FloatVector.broadcast(F, xq[xb + POS[k + 17]]), s3);
            }
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, w, bo, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector de = dh.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector dw = de.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(de.or(0x70000000), dh.and(0x7C00).eq(0x7C00))
                    .or(dh.and(0x80000000)).reinterpretAsFloats();
            acc = s0.add(s1).add(s2.add(s3)).sub(off[d0 + b]).fma(dw.mul(xd[d0 + b]), acc);
        }
        acc.intoArray(out, o);
    }

    private void tile4(float[] xq, float[] xd, float[] off, int g, int v, float[] out, int o, int step) {
        MemorySegment w = packed;
        int blocks = cols / QK;
        int x0 = v * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int d0 = v * blocks;
        int d1 = d0 + blocks;
        int d2 = d1 + blocks;
        int d3 = d2 + blocks;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long base = (long) g * blocks * GROUP_BLOCK;
        for (int b = 0; b < blocks; b++) {
            long bo = base + (long) b * GROUP_BLOCK;
            long qo = bo + 2L * L;
            int xb = b * QK;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector t0 = s0;
            FloatVector t1 = s0;
            FloatVector t2 = s0;
            FloatVector t3 = s0;
            for (int k = 0; k < 16; k++) {
                ByteVector q = ByteVector.fromMemorySegment(BL, w, qo + (long) k * L, LE);
                FloatVector lo = ((FloatVector) q.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0));
                FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0));
                int pl = xb + POS[k];
                int ph = xb + POS[k + 16];
                s0 = lo.fma(FloatVector.broadcast(F, xq[x0 + pl]), s0);
                s1 = lo.fma(FloatVector.broadcast(F, xq[x1 + pl]), s1);
                s2 = lo.fma(FloatVector.broadcast(F, xq[x2 + pl]), s2);
                s3 = lo.fma(FloatVector.broadcast(F, xq[x3 + pl]), s3);
                t0 = hi.fma(FloatVector.broadcast(F, xq[x0 + ph]), t0);
                t1 = hi.fma(FloatVector.broadcast(F, xq[x1 + ph]), t1);
                t2 = hi.fma(FloatVector.broadcast(F, xq[x2 + ph]), t2);
                t3 = hi.fma(FloatVector.broadcast(F, xq[x3 + ph]), t3);
            }
            IntVector dh = (IntVector) ShortVector.fromMemorySegment(S, w, bo, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector de = dh.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector dw = de.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(de.or(0x70000000), dh.and(0x7C00).eq(0x7C00))
                    .or(dh.and(0x80000000)).reinterpretAsFloats();
            a0 = s0.add(t0).sub(off[d0 + b]).fma(dw.mul(xd[d0 + b]), a0);
            a1 = s1.add(t1).sub(off[d1 + b]).fma(dw.mul(xd[d1 + b]), a1);
            a2 = s2.add(t2).sub(off[d2 + b]).fma(dw.mul(xd[d2 + b]), a2);
            a3 = s3.add(t3).sub(off[d3 + b]).fma(dw.mul(xd[d3 + b]), a3);
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + step);
        a2.intoArray(out, o + 2 * step);
        a3.intoArray(out, o + 3 * step);
    }

    /** Groups {@code g} and {@code g+1} by vectors {@code v .. v+3}: each widened weight vector serves 4 vectors, each broadcast input 2 groups. */
    private void tile2x4(float[] xq, float[] xd, float[] off, int g, int v, float[] out, int o, int step) {
        MemorySegment w = packed;
        int blocks = cols / QK;
        int x0 = v * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int d0 = v * blocks;
        int d1 = d0 + blocks;
        int d2 = d1 + blocks;
        int d3 = d2 + blocks;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = a00;
        FloatVector a02 = a00;
        FloatVector a03 = a00;
        FloatVector a10 = a00;
        FloatVector a11 = a00;
        FloatVector a12 = a00;
        FloatVector a13 = a00;
        long base0 = (long) g * blocks * GROUP_BLOCK;
        long base1 = base0 + (long) blocks * GROUP_BLOCK;
        for (int b = 0; b < blocks; b++) {
            long bo0 = base0 + (long) b * GROUP_BLOCK;
            long bo1 = base1 + (long) b * GROUP_BLOCK;
            int xb = b * QK;
            FloatVector s00 = FloatVector.zero(F);
            FloatVector s01 = s00;
            FloatVector s02 = s00;
            FloatVector s03 = s00;
            FloatVector s10 = s00;
            FloatVector s11 = s00;
            FloatVector s12 = s00;
            FloatVector s13 = s00;
            for (int k = 0; k < 16; k++) {
                ByteVector q0 = ByteVector.fromMemorySegment(BL, w, bo0 + 2L * L + (long) k * L, LE);
                ByteVector q1 = ByteVector.fromMemorySegment(BL, w, bo1 + 2L * L + (long) k * L, LE);
                FloatVector lo0 = (FloatVector) q0.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi0 = (FloatVector) q0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                FloatVector lo1 = (FloatVector) q1.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi1 = (FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0);
                int pl = xb + POS[k];
                int ph = xb + POS[k + 16];
                FloatVector xl = FloatVector.broadcast(F, xq[x0 + pl]);
                FloatVector xh = FloatVector.broadcast(F, xq[x0 + ph]);
                s00 = hi0.fma(xh, lo0.fma(xl, s00));
                s10 = hi1.fma(xh, lo1.fma(xl, s10));
                xl = FloatVector.broadcast(F, xq[x1 + pl]);
                xh = FloatVector.broadcast(F, xq[x1 + ph]);
                s01 = hi0.fma(xh, lo0.fma(xl, s01));
                s11 = hi1.fma(xh, lo1.fma(xl, s11));
                xl = FloatVector.broadcast(F, xq[x2 + pl]);
                xh = FloatVector.broadcast(F, xq[x2 + ph]);
                s02 = hi0.fma(xh, lo0.fma(xl, s02));
                s12 = hi1.fma(xh, lo1.fma(xl, s12));
                xl = FloatVector.broadcast(F, xq[x3 + pl]);
                xh = FloatVector.broadcast(F, xq[x3 + ph]);
                s03 = hi0.fma(xh, lo0.fma(xl, s03));
                s13 = hi1.fma(xh, lo1.fma(xl, s13));
            }
            IntVector dh0 = (IntVector) ShortVector.fromMemorySegment(S, w, bo0, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector de0 = dh0.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector dw0 = de0.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(de0.or(0x70000000), dh0.and(0x7C00).eq(0x7C00))
                    .or(dh0.and(0x80000000)).reinterpretAsFloats();
            IntVector dh1 = (IntVector) ShortVector.fromMemorySegment(S, w, bo1, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector de1 = dh1.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
            FloatVector dw1 = de1.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()
                    .blend(de1.or(0x70000000), dh1.and(0x7C00).eq(0x7C00))
                    .or(dh1.and(0x80000000)).reinterpretAsFloats();
            a00 = s00.sub(off[d0 + b]).fma(dw0.mul(xd[d0 + b]), a00);
            a01 = s01.sub(off[d1 + b]).fma(dw0.mul(xd[d1 + b]), a01);
            a02 = s02.sub(off[d2 + b]).fma(dw0.mul(xd[d2 + b]), a02);
            a03 = s03.sub(off[d3 + b]).fma(dw0.mul(xd[d3 + b]), a03);
            a10 = s10.sub(off[d0 + b]).fma(dw1.mul(xd[d0 + b]), a10);
            a11 = s11.sub(off[d1 + b]).fma(dw1.mul(xd[d1 + b]), a11);
            a12 = s12.sub(off[d2 + b]).fma(dw1.mul(xd[d2 + b]), a12);
            a13 = s13.sub(off[d3 + b]).fma(dw1.mul(xd[d3 + b]), a13);
        }
        a00.intoArray(out, o);
        a01.intoArray(out, o + step);
        a02.intoArray(out, o + 2 * step);
        a03.intoArray(out, o + 3 * step);
        a10.intoArray(out, o + L);
        a11.intoArray(out, o + step + L);
        a12.intoArray(out, o + 2 * step + L);
        a13.intoArray(out, o + 3 * step + L);
    }
}
