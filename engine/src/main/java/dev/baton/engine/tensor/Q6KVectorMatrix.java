package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.KQuants.f16;
import static dev.baton.engine.tensor.VectorKernels.CHUNKS;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.SWAP8;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q6_K weights x Q8_K input with the Vector API, bit-identical to {@link Q6KMatrix} at every vector
 * width, by the argument of {@link Q4KVectorMatrix}: the integer sums are exact in float lanes (at
 * most 32 values a lane, |scale * q * x| &lt;= 128 * 32 * 127, a sum below 2^24), folded onto ggml's eight
 * lanes, then the scalar kernel's float steps in its order. Each 32 values {@code 128n + 32k ..} are
 * built from bytes: nibble {@code k/2} of {@code ql[64n + 32(k%2) + l]} or'ed with bits {@code 2k, 2k+1}
 * of {@code qh[32n + l]} shifted to bits 4-5, minus 32. Tiles: one row times four vectors, and one
 * row times one vector.
 */
final class Q6KVectorMatrix extends Q6KMatrix {

    private static final VectorSpecies<Byte> B32 = VectorKernels.B32;
    /** Float vectors per 16 values (one scale). */
    private static final int HALF = CHUNKS / 2;

    Q6KVectorMatrix(GgufTensorInfo t) {
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
        for (int v = 0; v < full; v += 4) {
            int o = outOffset + v * outStride;
            for (int r = rowStart; r < rowEnd; r++) {
                tile1x4(r * rowBytes, in, v, tmp, out, o + r, outStride);
            }
        }
        for (int v = full; v < n; v++) {
            int o = outOffset + v * outStride;
            for (int r = rowStart; r < rowEnd; r++) {
                out[o + r] = tile1x1(r * rowBytes, in, v, tmp);
            }
        }
    }

    private float tile1x1(long wo, InputBatch in, int v, float[] tmp) {
        MemorySegment w = data;
        float[] xq = in.values;
        FloatVector zero = FloatVector.zero(F);
        FloatVector sums = zero;
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            int xb = v * cols + b * QK_K;
            FloatVector acc = zero;
            for (int g = 0; g < 8; g++) {
                int n = g >>> 2;
                int k = g & 3;
                ByteVector ql = ByteVector.fromMemorySegment(B32, w, bo + 64L * n + 32L * (k & 1), LE);
                ByteVector qh = ByteVector.fromMemorySegment(B32, w, bo + 128 + 32L * n, LE);
                ByteVector a = ql.lanewise(VectorOperators.LSHR, 4 * (k >>> 1)).and((byte) 0x0F)
                        .or(qh.lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3).lanewise(VectorOperators.LSHL, 4))
                        .sub((byte) 32);
                int x0 = xb + 32 * g;
                long sc = bo + 192 + 2L * g;
                FloatVector p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xq, x0));
                for (int c = 1; c < HALF; c++) {
                    p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, c)).fma(FloatVector.fromArray(F, xq, x0 + c * L), p);
                }
                acc = p.fma(FloatVector.broadcast(F, (float) w.get(ValueLayout.JAVA_BYTE, sc)), acc);
                p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, HALF)).mul(FloatVector.fromArray(F, xq, x0 + 16));
                for (int c = HALF + 1; c < CHUNKS; c++) {
                    p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, c)).fma(FloatVector.fromArray(F, xq, x0 + c * L), p);
                }
                acc = p.fma(FloatVector.broadcast(F, (float) w.get(ValueLayout.JAVA_BYTE, sc + 1)), acc);
            }
            if (L == 16) {
                acc = acc.add(acc.rearrange(SWAP8));
            }
            sums = sums.add(acc.mul(f16(w, bo + 208) * in.scales[v * blocks + b]));
        }
        sums.intoArray(tmp, 0);
        float sumf = 0f;
        for (int l = 0; l < 8; l++) {
            sumf += tmp[l];
        }
        return sumf;
    }

    /** Row at {@code wo} times vectors {@code v .. v+3}, into {@code out[o]}, {@code out[o + step]}, ... */
    private void tile1x4(long wo, InputBatch in, int v, float[] tmp, float[] out, int o, int step) {
        MemorySegment w = data;
        float[] xq = in.values;
        FloatVector zero = FloatVector.zero(F);
        FloatVector sums0 = zero;
        FloatVector sums1 = zero;
        FloatVector sums2 = zero;
        FloatVector sums3 = zero;
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            int xb0 = v * cols + b * QK_K;
            int xb1 = xb0 + cols;
            int xb2 = xb1 + cols;
            int xb3 = xb2 + cols;
            FloatVector acc0 = zero;
            FloatVector acc1 = zero;
            FloatVector acc2 = zero;
            FloatVector acc3 = zero;
            // 16 groups of 16 values, one scale each: group h is chunks [HALF*(h%2), HALF*(h%2) + HALF) of 32-value part h/2
            for (int h = 0; h < 16; h++) {
                int g = h >>> 1;
                int n = g >>> 2;
                int k = g & 3;
                ByteVector ql = ByteVector.fromMemorySegment(B32, w, bo + 64L * n + 32L * (k & 1), LE);
                ByteVector qh = ByteVector.fromMemorySegment(B32, w, bo + 128 + 32L * n, LE);
                ByteVector a = ql.lanewise(VectorOperators.LSHR, 4 * (k >>> 1)).and((byte) 0x0F)
                        .or(qh.lanewise(VectorOperators.LSHR, 2 * k).and((byte) 3).lanewise(VectorOperators.LSHL, 4))
                        .sub((byte) 32);
                int c0 = HALF * (h & 1);
                int xs = 32 * g + c0 * L;
                FloatVector wc = (FloatVector) a.convertShape(VectorOperators.B2F, F, c0);
                FloatVector p0 = wc.mul(FloatVector.fromArray(F, xq, xb0 + xs));
                FloatVector p1 = wc.mul(FloatVector.fromArray(F, xq, xb1 + xs));
                FloatVector p2 = wc.mul(FloatVector.fromArray(F, xq, xb2 + xs));
                FloatVector p3 = wc.mul(FloatVector.fromArray(F, xq, xb3 + xs));
                for (int c = 1; c < HALF; c++) {
                    wc = (FloatVector) a.convertShape(VectorOperators.B2F, F, c0 + c);
                    int xc = xs + c * L;
                    p0 = wc.fma(FloatVector.fromArray(F, xq, xb0 + xc), p0);
                    p1 = wc.fma(FloatVector.fromArray(F, xq, xb1 + xc), p1);
                    p2 = wc.fma(FloatVector.fromArray(F, xq, xb2 + xc), p2);
                    p3 = wc.fma(FloatVector.fromArray(F, xq, xb3 + xc), p3);
                }
                FloatVector sc = FloatVector.broadcast(F, (float) w.get(ValueLayout.JAVA_BYTE, bo + 192 + h));
                acc0 = p0.fma(sc, acc0);
                acc1 = p1.fma(sc, acc1);
                acc2 = p2.fma(sc, acc2);
                acc3 = p3.fma(sc, acc3);
            }
            if (L == 16) {
                acc0 = acc0.add(acc0.rearrange(SWAP8));
                acc1 = acc1.add(acc1.rearrange(SWAP8));
                acc2 = acc2.add(acc2.rearrange(SWAP8));
                acc3 = acc3.add(acc3.rearrange(SWAP8));
            }
            float dw = f16(w, bo + 208);
            int yb = v * blocks + b;
            sums0 = sums0.add(acc0.mul(dw * in.scales[yb]));
            sums1 = sums1.add(acc1.mul(dw * in.scales[yb + blocks]));
            sums2 = sums2.add(acc2.mul(dw * in.scales[yb + 2 * blocks]));
            sums3 = sums3.add(acc3.mul(dw * in.scales[yb + 3 * blocks]));
        }
        sums0.intoArray(tmp, 0);
        sums1.intoArray(tmp, L);
        sums2.intoArray(tmp, 2 * L);
        sums3.intoArray(tmp, 3 * L);
        float sumf0 = 0f;
        float sumf1 = 0f;
        float sumf2 = 0f;
        float sumf3 = 0f;
        for (int l = 0; l < 8; l++) {
            sumf0 += tmp[l];
        }
        for (int l = 0; l < 8; l++) {
            sumf1 += tmp[L + l];
        }
        for (int l = 0; l < 8; l++) {
            sumf2 += tmp[2 * L + l];
        }
        for (int l = 0; l < 8; l++) {
            sumf3 += tmp[3 * L + l];
        }
        out[o] = sumf0;
        out[o + step] = sumf1;
        out[o + 2 * step] = sumf2;
        out[o + 3 * step] = sumf3;
    }
}
