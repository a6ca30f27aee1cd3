package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.F32_LE;
import static dev.baton.engine.tensor.HalfFloats.I16_LE;

import dev.baton.engine.gguf.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Vector operations of the forward pass outside the matrix products: dot products and
 * {@code y += alpha*x} over the KV cache (off-heap, F32, little-endian F16 or Q8_0 blocks), stores into it, and
 * RMS normalization.
 *
 * <p>Static, stateless, allocation-free and thread-safe. Vectorized where the Vector API is usable
 * ({@link KernelMode#defaultMode()}), plain Java otherwise; each result is deterministic (same
 * inputs, same bits). Offsets into segments are in bytes, into arrays in elements; {@code n} is an
 * element count. Out-of-range offsets throw {@link IndexOutOfBoundsException}.
 */
public final class FloatOps {

    private static final boolean VECTOR = KernelMode.defaultMode() == KernelMode.VECTOR;
    /** Q8_0 rows take the vector kernels with 8 or more float lanes (no byte shape holds fewer than 8 lanes' bytes). */
    private static final boolean VECTOR_Q8_0 = VECTOR && FloatOpsVector.q8_0Rows();

    private FloatOps() {}

    /** {@code sum(a[ao+i] * b[bo+i])} for {@code i} in {@code [0, n)}. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        return VECTOR ? FloatOpsVector.dot(a, ao, b, bo, n) : scalarDot(a, ao, b, bo, n);
    }

    /** {@code sum(a[ao+i] * b[i])}: {@code b} is off-heap at {@code bByteOffset}, elements F32 or F16 (little-endian). */
    public static float dot(float[] a, int ao, MemorySegment b, long bByteOffset, GgmlType bType, int n) {
        if (bType == GgmlType.F32) {
            return VECTOR ? FloatOpsVector.dotF32(a, ao, b, bByteOffset, n) : scalarDotF32(a, ao, b, bByteOffset, n);
        }
        if (bType == GgmlType.F16) {
            return VECTOR ? FloatOpsVector.dotF16(a, ao, b, bByteOffset, n) : scalarDotF16(a, ao, b, bByteOffset, n);
        }
        if (bType == GgmlType.Q8_0) {
            return VECTOR_Q8_0 ? FloatOpsVector.dotQ8_0(a, ao, b, bByteOffset, n) : dotQ8_0(a, ao, b, bByteOffset, n);
        }
        throw unsupported(bType);
    }

    /** {@code y[yo+i] += alpha * x[i]} (one fused multiply-add each): {@code x} is off-heap at {@code xByteOffset}, F32 or F16. */
    public static void axpy(float alpha, MemorySegment x, long xByteOffset, GgmlType xType, float[] y, int yo, int n) {
        if (xType == GgmlType.F32) {
            if (VECTOR) {
                FloatOpsVector.axpyF32(alpha, x, xByteOffset, y, yo, n);
            } else {
                scalarAxpy(alpha, x, xByteOffset, xType, y, yo, n);
            }
        } else if (xType == GgmlType.F16) {
            if (VECTOR) {
                FloatOpsVector.axpyF16(alpha, x, xByteOffset, y, yo, n);
            } else {
                scalarAxpy(alpha, x, xByteOffset, xType, y, yo, n);
            }
        } else if (xType == GgmlType.Q8_0) {
            if (VECTOR_Q8_0) {
                FloatOpsVector.axpyQ8_0(alpha, x, xByteOffset, y, yo, n);
            } else {
                axpyQ8_0(alpha, x, xByteOffset, y, yo, n);
            }
        } else {
            throw unsupported(xType);
        }
    }

    /** Writes {@code src[so..so+n)} to {@code dst} at {@code dstByteOffset}: F32 copied, F16 rounded to nearest even. */
    public static void store(float[] src, int so, MemorySegment dst, long dstByteOffset, GgmlType dstType, int n) {
        if (dstType == GgmlType.F32) {
            if (VECTOR) {
                FloatOpsVector.storeF32(src, so, dst, dstByteOffset, n);
            } else {
                for (int i = 0; i < n; i++) {
                    dst.set(F32_LE, dstByteOffset + 4L * i, src[so + i]);
                }
            }
        } else if (dstType == GgmlType.F16) {
            // Scalar: Float.floatToFloat16 compiles to one vcvtps2ph, and a cache row is short.
            for (int i = 0; i < n; i++) {
                dst.set(I16_LE, dstByteOffset + 2L * i, HalfFloats.floatToF16(src[so + i]));
            }
        } else if (dstType == GgmlType.Q8_0) {
            // ggml's quantize_row_q8_0_ref: per 32 values d = max|x| / 127 (stored as f16), q = roundf(x / d)
            dev.baton.engine.gguf.GgufQuantizer.quantize(GgmlType.Q8_0, src, so, n, dst, dstByteOffset);
        } else {
            throw unsupported(dstType);
        }
    }

    /**
     * {@code out[oo+i] = x[xo+i] * scale * weight[i]} with {@code scale = 1/sqrt(mean(x^2) + eps)}, as
     * ggml's rms_norm followed by the weight multiply: squares summed in double, the scale in float.
     * {@code out} may be {@code x} (same offset) for an in-place norm.
     */
    public static void rmsnorm(float[] out, int oo, float[] x, int xo, float[] weight, int n, float eps) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            sum += v * v;
        }
        float mean = (float) (sum / n);
        float scale = 1f / (float) Math.sqrt(mean + eps);
        if (VECTOR) {
            FloatOpsVector.scale(out, oo, x, xo, scale, weight, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[oo + i] = x[xo + i] * scale * weight[i];
            }
        }
    }

    // The plain-Java versions: the fallback, and the reference the vector versions are tested against.

    static float scalarDot(float[] a, int ao, float[] b, int bo, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    static float scalarDotF32(float[] a, int ao, MemorySegment b, long bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s = Math.fma(a[ao + i], b.get(F32_LE, bOff + 4L * i), s);
        }
        return s;
    }

    static float scalarDotF16(float[] a, int ao, MemorySegment b, long bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s = Math.fma(a[ao + i], HalfFloats.f16ToFloat(b.get(I16_LE, bOff + 2L * i)), s);
        }
        return s;
    }

    static void scalarAxpy(float alpha, MemorySegment x, long xOff, GgmlType xType, float[] y, int yo, int n) {
        for (int i = 0; i < n; i++) {
            float xi = xType == GgmlType.F32 ? x.get(F32_LE, xOff + 4L * i) : HalfFloats.f16ToFloat(x.get(I16_LE, xOff + 2L * i));
            y[yo + i] = Math.fma(alpha, xi, y[yo + i]);
        }
    }

    /**
     * {@code sum(a[ao+i] * x[i])} over Q8_0 blocks of 32 ({@code f16 d | i8 q[32]}): per block the products with
     * the integers in one {@code fma} chain, then {@code acc = fma(d, blockSum, acc)}; a fixed order, so the same
     * bits whatever the batch or thread.
     */
    static float dotQ8_0(float[] a, int ao, MemorySegment b, long bOff, int n) {
        float acc = 0f;
        for (int blk = 0; blk < n / 32; blk++) {
            long at = bOff + 34L * blk;
            float d = HalfFloats.f16ToFloat(b.get(I16_LE, at));
            int base = ao + blk * 32;
            float s = 0f;
            for (int j = 0; j < 32; j++) {
                s = Math.fma(a[base + j], b.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 2 + j), s);
            }
            acc = Math.fma(d, s, acc);
        }
        return acc;
    }

    /** {@code y[yo+i] += alpha * d * q[i]} over Q8_0 blocks of 32: {@code fma(alpha * d, q, y)} each. */
    static void axpyQ8_0(float alpha, MemorySegment x, long xOff, float[] y, int yo, int n) {
        for (int blk = 0; blk < n / 32; blk++) {
            long at = xOff + 34L * blk;
            float ad = alpha * HalfFloats.f16ToFloat(x.get(I16_LE, at));
            int base = yo + blk * 32;
            for (int j = 0; j < 32; j++) {
                y[base + j] = Math.fma(ad, x.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 2 + j), y[base + j]);
            }
        }
    }

    private static IllegalArgumentException unsupported(GgmlType type) {
        return new IllegalArgumentException("KV element type " + type + " is not F32, F16 or Q8_0");
    }
}
