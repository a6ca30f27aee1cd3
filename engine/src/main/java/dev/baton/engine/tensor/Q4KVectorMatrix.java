package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.KQuants.f16;
import static dev.baton.engine.tensor.VectorKernels.CHUNKS;
import static dev.baton.engine.tensor.VectorKernels.F;
import static dev.baton.engine.tensor.VectorKernels.L;
import static dev.baton.engine.tensor.VectorKernels.LE;
import static dev.baton.engine.tensor.VectorKernels.SWAP8;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_K weights x Q8_K input with the Vector API, bit-identical to {@link Q4KMatrix} at every vector
 * width. A sub-block's 32 4-bit values are widened to floats and multiplied with the input's integers
 * (kept as floats): every partial sum is an integer below 2^24 (at most 32 values a lane, each
 * |scale * q * x| &lt;= 63 * 15 * 127), so the float arithmetic is exact and lane {@code k} of the
 * accumulator holds the integer sum of the values {@code i} with {@code i % L == k}. Folding the 16
 * lanes of AVX-512 onto 8 (exact again) gives ggml's eight int lanes; the float steps after that
 * ({@code sums[l] += d * aux[l]}, then {@code sumf + sums[0] + ... + sums[7]}) are the scalar kernel's,
 * in its order. Tiles: one row times four vectors (the weights widened once for all four), and one
 * row times one vector for the vectors left over. As in the other vector kernels (see
 * {@link VectorKernels}), no vector crosses a method boundary.
 */
final class Q4KVectorMatrix extends Q4KMatrix {

    private static final VectorSpecies<Byte> B32 = VectorKernels.B32;

    Q4KVectorMatrix(GgufTensorInfo t) {
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
        int[] bs = in.bsums;
        FloatVector zero = FloatVector.zero(F);
        FloatVector sums = zero;
        float sumf = 0f;
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            int xb = v * cols + b * QK_K;
            int gb = v * (cols / 16) + b * 16;
            FloatVector acc = zero;
            int sumi = 0;
            for (int j = 0; j < 4; j++) {
                ByteVector q = ByteVector.fromMemorySegment(B32, w, bo + 16 + 32L * j, LE);
                int s0 = 2 * j;
                int s1 = s0 + 1;
                sumi += (bs[gb + 2 * s0] + bs[gb + 2 * s0 + 1]) * KQuants.minK4(w, bo + 4, s0)
                        + (bs[gb + 2 * s1] + bs[gb + 2 * s1 + 1]) * KQuants.minK4(w, bo + 4, s1);
                // sub-block 2j: the low nibbles
                ByteVector a = q.and((byte) 0x0F);
                int x0 = xb + 64 * j;
                FloatVector p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xq, x0));
                for (int c = 1; c < CHUNKS; c++) {
                    p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, c)).fma(FloatVector.fromArray(F, xq, x0 + c * L), p);
                }
                acc = p.fma(FloatVector.broadcast(F, (float) KQuants.scaleK4(w, bo + 4, s0)), acc);
                // sub-block 2j+1: the high nibbles
                a = q.lanewise(VectorOperators.LSHR, 4);
                x0 += 32;
                p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xq, x0));
                for (int c = 1; c < CHUNKS; c++) {
                    p = ((FloatVector) a.convertShape(VectorOperators.B2F, F, c)).fma(FloatVector.fromArray(F, xq, x0 + c * L), p);
                }
                acc = p.fma(FloatVector.broadcast(F, (float) KQuants.scaleK4(w, bo + 4, s1)), acc);
            }
            if (L == 16) {
                acc = acc.add(acc.rearrange(SWAP8));
            }
            float yd = in.scales[v * blocks + b];
            sums = sums.add(acc.mul(f16(w, bo) * yd));
            float dmin = f16(w, bo + 2) * yd;
            sumf -= dmin * sumi;
        }
        sums.intoArray(tmp, 0);
        for (int l = 0; l < 8; l++) {
            sumf += tmp[l];
        }
        return sumf;
    }

    /** Row at {@code wo} times vectors {@code v .. v+3}, into {@code out[o]}, {@code out[o + step]}, ... */
    private void tile1x4(long wo, InputBatch in, int v, float[] tmp, float[] out, int o, int step) {
        MemorySegment w = data;
        float[] xq = in.values;
        int[] bs = in.bsums;
        int g16 = cols / 16;
        FloatVector zero = FloatVector.zero(F);
        FloatVector sums0 = zero;
        FloatVector sums1 = zero;
        FloatVector sums2 = zero;
        FloatVector sums3 = zero;
        float sumf0 = 0f;
        float sumf1 = 0f;
        float sumf2 = 0f;
        float sumf3 = 0f;
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            int xb0 = v * cols + b * QK_K;
            int xb1 = xb0 + cols;
            int xb2 = xb1 + cols;
            int xb3 = xb2 + cols;
            int gb0 = v * g16 + b * 16;
            int gb1 = gb0 + g16;
            int gb2 = gb1 + g16;
            int gb3 = gb2 + g16;
            FloatVector acc0 = zero;
            FloatVector acc1 = zero;
            FloatVector acc2 = zero;
            FloatVector acc3 = zero;
            int sumi0 = 0;
            int sumi1 = 0;
            int sumi2 = 0;
            int sumi3 = 0;
            for (int s = 0; s < 8; s++) {
                int m = KQuants.minK4(w, bo + 4, s);
                sumi0 += (bs[gb0 + 2 * s] + bs[gb0 + 2 * s + 1]) * m;
                sumi1 += (bs[gb1 + 2 * s] + bs[gb1 + 2 * s + 1]) * m;
                sumi2 += (bs[gb2 + 2 * s] + bs[gb2 + 2 * s + 1]) * m;
                sumi3 += (bs[gb3 + 2 * s] + bs[gb3 + 2 * s + 1]) * m;
            }
            for (int s = 0; s < 8; s++) {
                // sub-block s: nibble s % 2 of the 32 bytes at 16 + 32 * (s / 2)
                ByteVector q = ByteVector.fromMemorySegment(B32, w, bo + 16 + 32L * (s >>> 1), LE);
                ByteVector a = q.lanewise(VectorOperators.LSHR, 4 * (s & 1)).and((byte) 0x0F);
                int xs = 32 * s;
                FloatVector wc = (FloatVector) a.convertShape(VectorOperators.B2F, F, 0);
                FloatVector p0 = wc.mul(FloatVector.fromArray(F, xq, xb0 + xs));
                FloatVector p1 = wc.mul(FloatVector.fromArray(F, xq, xb1 + xs));
                FloatVector p2 = wc.mul(FloatVector.fromArray(F, xq, xb2 + xs));
                FloatVector p3 = wc.mul(FloatVector.fromArray(F, xq, xb3 + xs));
                for (int c = 1; c < CHUNKS; c++) {
                    wc = (FloatVector) a.convertShape(VectorOperators.B2F, F, c);
                    int xc = xs + c * L;
                    p0 = wc.fma(FloatVector.fromArray(F, xq, xb0 + xc), p0);
                    p1 = wc.fma(FloatVector.fromArray(F, xq, xb1 + xc), p1);
                    p2 = wc.fma(FloatVector.fromArray(F, xq, xb2 + xc), p2);
                    p3 = wc.fma(FloatVector.fromArray(F, xq, xb3 + xc), p3);
                }
                FloatVector sc = FloatVector.broadcast(F, (float) KQuants.scaleK4(w, bo + 4, s));
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
            float dw = f16(w, bo);
            float mw = f16(w, bo + 2);
            int yb = v * blocks + b;
            float yd0 = in.scales[yb];
            float yd1 = in.scales[yb + blocks];
            float yd2 = in.scales[yb + 2 * blocks];
            float yd3 = in.scales[yb + 3 * blocks];
            sums0 = sums0.add(acc0.mul(dw * yd0));
            sums1 = sums1.add(acc1.mul(dw * yd1));
            sums2 = sums2.add(acc2.mul(dw * yd2));
            sums3 = sums3.add(acc3.mul(dw * yd3));
            sumf0 -= (mw * yd0) * sumi0;
            sumf1 -= (mw * yd1) * sumi1;
            sumf2 -= (mw * yd2) * sumi2;
            sumf3 -= (mw * yd3) * sumi3;
        }
        sums0.intoArray(tmp, 0);
        sums1.intoArray(tmp, L);
        sums2.intoArray(tmp, 2 * L);
        sums3.intoArray(tmp, 3 * L);
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
