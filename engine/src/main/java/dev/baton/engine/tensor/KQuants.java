package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;

import dev.baton.engine.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The K-quant super-block layouts of ggml ({@code block_q2_K} .. {@code block_q6_K}, 256 values per
 * super-block) and their dequantization, bit-exact with ggml's {@code dequantize_row_qX_K}: the same
 * float operations in the same order (no fused multiply-add). Byte offsets within a super-block:
 * <pre>
 *   Q2_K  84 bytes   0 scales[16]  (low 4 bits: scale, high 4 bits: min, per 16 values)
 *                   16 qs[64]      (2-bit values, four a byte)
 *                   80 d    fp16   82 dmin fp16
 *         value = d*(sc &amp; 15) * q - dmin*(sc &gt;&gt; 4)
 *
 *   Q3_K 110 bytes   0 hmask[32]   (bit 2 of each value; a clear bit means -4)
 *                   32 qs[64]      (low 2 bits, four a byte)
 *                   96 scales[12]  (16 6-bit scales, stored minus 32)
 *                  108 d    fp16
 *         value = d*(scale - 32) * (q - (hbit ? 0 : 4))
 *
 *   Q4_K 144 bytes   0 d    fp16    2 dmin fp16
 *                    4 scales[12]  (8 6-bit scales and 8 6-bit mins, one pair per 32 values)
 *                   16 qs[128]     (4-bit values: 32 bytes hold 64 values, low nibbles first)
 *         value = d*scale * q - dmin*min
 *
 *   Q5_K 176 bytes   0 d    fp16    2 dmin fp16
 *                    4 scales[12]  (as Q4_K)
 *                   16 qh[32]      (bit 4 of each value)
 *                   48 qs[128]     (low 4 bits, as Q4_K)
 *
 *   Q6_K 210 bytes   0 ql[128]     (low 4 bits)
 *                  128 qh[64]      (high 2 bits)
 *                  192 scales[16]  (int8, one per 16 values)
 *                  208 d    fp16
 *         value = d*scale * (q - 32)
 * </pre>
 * Within each 128 values of Q2_K, Q3_K and Q6_K, and each 64 of Q4_K and Q5_K, the bytes are read
 * several times with growing shifts: value {@code 32*j + l} of a 128-value half takes bits
 * {@code 2j, 2j+1} of byte {@code l} (Q2_K, Q3_K; Q6_K's qh), and so on; the methods below spell it out.
 */
final class KQuants {

    /** Values per super-block (ggml's QK_K). */
    static final int QK_K = 256;

    private KQuants() {}

    static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    static float f16(MemorySegment s, long off) {
        return HalfFloats.f16ToFloat(s.get(I16_LE, off));
    }

    /** Q4_K/Q5_K: the 6-bit scale of sub-block {@code j} (of 8) from the 12 bytes at {@code sc} (ggml's get_scale_min_k4). */
    static int scaleK4(MemorySegment s, long sc, int j) {
        return j < 4 ? u8(s, sc + j) & 63 : (u8(s, sc + j + 4) & 0xF) | ((u8(s, sc + j - 4) >>> 6) << 4);
    }

    /** Q4_K/Q5_K: the 6-bit min of sub-block {@code j} (of 8) from the 12 bytes at {@code sc}. */
    static int minK4(MemorySegment s, long sc, int j) {
        return j < 4 ? u8(s, sc + j + 4) & 63 : (u8(s, sc + j + 4) >>> 4) | ((u8(s, sc + j) >>> 6) << 4);
    }

    /** Q3_K: the 6-bit scale of 16-value group {@code j} (of 16) from the 12 bytes at {@code sc}, not yet minus 32. */
    static int scaleQ3(MemorySegment s, long sc, int j) {
        int low = j < 8 ? u8(s, sc + j) & 0xF : u8(s, sc + j - 8) >>> 4;
        int high = (u8(s, sc + 8 + (j & 3)) >>> (2 * (j >>> 2))) & 3;
        return low | (high << 4);
    }

    /** Dequantizes the super-block of {@code type} at {@code off} into {@code y[yo .. yo+256)}. */
    static void dequantize(GgmlType type, MemorySegment s, long off, float[] y, int yo) {
        switch (type) {
            case Q2_K -> dequantizeQ2K(s, off, y, yo);
            case Q3_K -> dequantizeQ3K(s, off, y, yo);
            case Q4_K -> dequantizeQ4K(s, off, y, yo);
            case Q5_K -> dequantizeQ5K(s, off, y, yo);
            case Q6_K -> dequantizeQ6K(s, off, y, yo);
            default -> throw new IllegalArgumentException("not a K-quant type: " + type);
        }
    }

    static void dequantizeQ2K(MemorySegment s, long off, float[] y, int yo) {
        float d = f16(s, off + 80);
        float min = f16(s, off + 82);
        int is = 0;
        int o = yo;
        for (int n = 0; n < QK_K; n += 128) {
            long q = off + 16 + n / 4;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 32; half += 16) {
                    int sc = u8(s, off + is++);
                    float dl = d * (sc & 0xF);
                    float ml = min * (sc >>> 4);
                    for (int l = 0; l < 16; l++) {
                        y[o++] = dl * ((u8(s, q + half + l) >>> shift) & 3) - ml;
                    }
                }
            }
        }
    }

    static void dequantizeQ3K(MemorySegment s, long off, float[] y, int yo) {
        float dAll = f16(s, off + 108);
        int is = 0;
        int o = yo;
        int m = 1;
        for (int n = 0; n < QK_K; n += 128) {
            long q = off + 32 + n / 4;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 32; half += 16) {
                    float dl = dAll * (scaleQ3(s, off + 96, is++) - 32);
                    for (int l = half; l < half + 16; l++) {
                        int v = ((u8(s, q + l) >>> shift) & 3) - ((u8(s, off + l) & m) != 0 ? 0 : 4);
                        y[o++] = dl * v;
                    }
                }
                m <<= 1;
            }
        }
    }

    static void dequantizeQ4K(MemorySegment s, long off, float[] y, int yo) {
        float d = f16(s, off);
        float min = f16(s, off + 2);
        long sc = off + 4;
        int o = yo;
        for (int j = 0; j < 4; j++) {
            long q = off + 16 + 32L * j;
            float d1 = d * scaleK4(s, sc, 2 * j);
            float m1 = min * minK4(s, sc, 2 * j);
            float d2 = d * scaleK4(s, sc, 2 * j + 1);
            float m2 = min * minK4(s, sc, 2 * j + 1);
            for (int l = 0; l < 32; l++) {
                y[o++] = d1 * (u8(s, q + l) & 0xF) - m1;
            }
            for (int l = 0; l < 32; l++) {
                y[o++] = d2 * (u8(s, q + l) >>> 4) - m2;
            }
        }
    }

    static void dequantizeQ5K(MemorySegment s, long off, float[] y, int yo) {
        float d = f16(s, off);
        float min = f16(s, off + 2);
        long sc = off + 4;
        long qh = off + 16;
        int o = yo;
        for (int j = 0; j < 4; j++) {
            long ql = off + 48 + 32L * j;
            int u1 = 1 << (2 * j);
            int u2 = u1 << 1;
            float d1 = d * scaleK4(s, sc, 2 * j);
            float m1 = min * minK4(s, sc, 2 * j);
            float d2 = d * scaleK4(s, sc, 2 * j + 1);
            float m2 = min * minK4(s, sc, 2 * j + 1);
            for (int l = 0; l < 32; l++) {
                y[o++] = d1 * ((u8(s, ql + l) & 0xF) + ((u8(s, qh + l) & u1) != 0 ? 16 : 0)) - m1;
            }
            for (int l = 0; l < 32; l++) {
                y[o++] = d2 * ((u8(s, ql + l) >>> 4) + ((u8(s, qh + l) & u2) != 0 ? 16 : 0)) - m2;
            }
        }
    }

    static void dequantizeQ6K(MemorySegment s, long off, float[] y, int yo) {
        float d = f16(s, off + 208);
        for (int n = 0; n < 2; n++) {
            long ql = off + 64L * n;
            long qh = off + 128 + 32L * n;
            long sc = off + 192 + 8L * n;
            int o = yo + 128 * n;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int h = u8(s, qh + l);
                int q1 = ((u8(s, ql + l) & 0xF) | ((h & 3) << 4)) - 32;
                int q2 = ((u8(s, ql + l + 32) & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                int q3 = ((u8(s, ql + l) >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                int q4 = ((u8(s, ql + l + 32) >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                y[o + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                y[o + l + 32] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                y[o + l + 64] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                y[o + l + 96] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
            }
        }
    }
}
