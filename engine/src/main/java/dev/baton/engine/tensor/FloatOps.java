package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.F32_LE;
import static dev.baton.engine.tensor.HalfFloats.I16_LE;

import dev.baton.engine.gguf.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Vector operations of the forward pass outside the matrix products: dot products and
 * {@code y += alpha*x} over the KV cache (off-heap, F32 or little-endian F16), stores into it, and
 * RMS normalization. Static, stateless, allocation-free and thread-safe; vectorized where the
 * Vector API is usable ({@link KernelMode#defaultMode()}), plain Java otherwise. Each result is
 * deterministic: the same inputs give the same bits.
 */
public final class FloatOps {

    private FloatOps() {}

    /** {@code sum(a[ao+i] * b[bo+i])} for {@code i} in {@code [0, n)}. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s = Math.fma(a[ao + i], b[bo + i], s);
        }
        return s;
    }

    /** {@code sum(a[ao+i] * b[i])}: {@code b} is off-heap at {@code bByteOffset}, elements F32 or F16 (little-endian). */
    public static float dot(float[] a, int ao, MemorySegment b, long bByteOffset, GgmlType bType, int n) {
        float s = 0f;
        if (bType == GgmlType.F32) {
            for (int i = 0; i < n; i++) {
                s = Math.fma(a[ao + i], b.get(F32_LE, bByteOffset + 4L * i), s);
            }
        } else if (bType == GgmlType.F16) {
            for (int i = 0; i < n; i++) {
                s = Math.fma(a[ao + i], HalfFloats.f16ToFloat(b.get(I16_LE, bByteOffset + 2L * i)), s);
            }
        } else {
            throw unsupported(bType);
        }
        return s;
    }

    /** {@code y[yo+i] += alpha * x[i]}: {@code x} is off-heap at {@code xByteOffset}, elements F32 or F16. */
    public static void axpy(float alpha, MemorySegment x, long xByteOffset, GgmlType xType, float[] y, int yo, int n) {
        if (xType == GgmlType.F32) {
            for (int i = 0; i < n; i++) {
                y[yo + i] = Math.fma(alpha, x.get(F32_LE, xByteOffset + 4L * i), y[yo + i]);
            }
        } else if (xType == GgmlType.F16) {
            for (int i = 0; i < n; i++) {
                y[yo + i] = Math.fma(alpha, HalfFloats.f16ToFloat(x.get(I16_LE, xByteOffset + 2L * i)), y[yo + i]);
            }
        } else {
            throw unsupported(xType);
        }
    }

    /** Writes {@code src[so..so+n)} to {@code dst} at {@code dstByteOffset}: F32 copied, F16 rounded to nearest even. */
    public static void store(float[] src, int so, MemorySegment dst, long dstByteOffset, GgmlType dstType, int n) {
        if (dstType == GgmlType.F32) {
            for (int i = 0; i < n; i++) {
                dst.set(F32_LE, dstByteOffset + 4L * i, src[so + i]);
            }
        } else if (dstType == GgmlType.F16) {
            for (int i = 0; i < n; i++) {
                dst.set(I16_LE, dstByteOffset + 2L * i, HalfFloats.floatToF16(src[so + i]));
            }
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
        for (int i = 0; i < n; i++) {
            out[oo + i] = x[xo + i] * scale * weight[i];
        }
    }

    private static IllegalArgumentException unsupported(GgmlType type) {
        return new IllegalArgumentException("KV element type " + type + " is not F32 or F16");
    }
}
