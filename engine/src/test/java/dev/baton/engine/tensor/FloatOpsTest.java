package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.baton.engine.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class FloatOpsTest {

    @Test
    void shouldStoreF16RoundedToNearestEvenAndReadItBack() {
        float[] src = {1f + 0x1p-11f, 1f + 0x3p-11f, -0.1f, 65504f, 1e-7f, 70000f};
        MemorySegment kv = Arena.ofAuto().allocate(64);
        FloatOps.store(src, 0, kv, 8, GgmlType.F16, src.length);
        assertEquals((short) 0x3c00, kv.get(TestTensors.I16_LE, 8));
        assertEquals((short) 0x3c02, kv.get(TestTensors.I16_LE, 10));
        float[] back = new float[src.length];
        FloatOps.axpy(1f, kv, 8, GgmlType.F16, back, 0, src.length);
        for (int i = 0; i < src.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(src[i])), back[i], 0f, "element " + i);
        }
    }

    @Test
    void shouldDotWithF16AndF32CacheRows() {
        int n = 100;
        float[] a = TestTensors.randomFloats(n + 3, 31, 1f);
        float[] b = TestTensors.randomFloats(n, 32, 1f);
        MemorySegment kv = Arena.ofAuto().allocate(4L * n + 16);
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16}) {
            FloatOps.store(b, 0, kv, 16, type, n);
            double expected = 0;
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                float bi = type == GgmlType.F16 ? Float.float16ToFloat(Float.floatToFloat16(b[i])) : b[i];
                expected += (double) a[3 + i] * bi;
                magnitude += Math.abs((double) a[3 + i] * bi);
            }
            assertEquals(expected, FloatOps.dot(a, 3, kv, 16, type, n), 1e-6 * magnitude, type.toString());
        }
    }

    @Test
    void shouldAddAScaledCacheRow() {
        int n = 37;
        float[] x = TestTensors.randomFloats(n, 33, 1f);
        float[] y = TestTensors.randomFloats(n + 2, 34, 1f);
        float[] expected = y.clone();
        MemorySegment kv = Arena.ofAuto().allocate(4L * n);
        FloatOps.store(x, 0, kv, 0, GgmlType.F32, n);
        FloatOps.axpy(0.25f, kv, 0, GgmlType.F32, y, 2, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Math.fma(0.25f, x[i], expected[2 + i]), y[2 + i], 0f);
        }
    }

    @Test
    void shouldDotFloatArrays() {
        int n = 291;
        float[] a = TestTensors.randomFloats(n, 35, 1f);
        float[] b = TestTensors.randomFloats(n + 1, 36, 1f);
        double expected = 0;
        double magnitude = 0;
        for (int i = 0; i < n; i++) {
            expected += (double) a[i] * b[1 + i];
            magnitude += Math.abs((double) a[i] * b[1 + i]);
        }
        assertEquals(expected, FloatOps.dot(a, 0, b, 1, n), 1e-6 * magnitude);
    }

    @Test
    void shouldRmsNormLikeGgml() {
        int n = 288;
        float[] x = TestTensors.randomFloats(n, 37, 2f);
        float[] w = TestTensors.randomFloats(n, 38, 1f);
        float[] out = new float[n];
        FloatOps.rmsnorm(out, 0, x, 0, w, n, 1e-5f);
        double sum = 0;
        for (float v : x) {
            sum += v * v;
        }
        float scale = 1f / (float) Math.sqrt((float) (sum / n) + 1e-5f);
        for (int i = 0; i < n; i++) {
            assertEquals(x[i] * scale * w[i], out[i], 0f, "element " + i);
        }
    }

    /** Q8_0 cache rows: the vector dot within float rounding of the scalar one, the vector axpy bit for bit. */
    @Test
    void shouldAgreeWithTheScalarLoopsOnQ8_0Rows() {
        assumeTrue(KernelMode.vectorAvailable() && FloatOpsVector.q8_0Rows(), "Vector API not usable here, or < 8 lanes");
        MemorySegment kv = Arena.ofAuto().allocate(34L * 8 + 6);
        for (int n : new int[] {32, 64, 96, 256}) {
            float[] a = TestTensors.randomFloats(n + 2, 140 + n, 1f);
            float[] b = TestTensors.randomFloats(n, 180 + n, 3f);
            FloatOps.store(b, 0, kv, 6, GgmlType.Q8_0, n);
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                magnitude += Math.abs((double) a[2 + i] * b[i]);
            }
            assertEquals(FloatOps.dotQ8_0(a, 2, kv, 6, n), FloatOpsVector.dotQ8_0(a, 2, kv, 6, n), 1e-6 * magnitude,
                    "dot n=" + n);
            float[] y1 = TestTensors.randomFloats(n + 1, 220 + n, 1f);
            float[] y2 = y1.clone();
            FloatOps.axpyQ8_0(0.3f, kv, 6, y1, 1, n);
            FloatOpsVector.axpyQ8_0(0.3f, kv, 6, y2, 1, n);
            assertArrayEquals(y1, y2, 0f, "axpy n=" + n);
        }
    }

    @Test
    void shouldAgreeWithTheScalarLoopsOnEveryLength() {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        MemorySegment kv = Arena.ofAuto().allocate(4L * 200 + 8);
        for (int n : new int[] {1, 7, 16, 33, 48, 64, 100, 129}) {
            float[] a = TestTensors.randomFloats(n + 2, 40 + n, 1f);
            float[] b = TestTensors.randomFloats(n + 3, 80 + n, 1f);
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                magnitude += Math.abs((double) a[2 + i] * b[3 + i]);
            }
            double tol = 1e-6 * magnitude;
            assertEquals(FloatOps.scalarDot(a, 2, b, 3, n), FloatOpsVector.dot(a, 2, b, 3, n), tol, "dot n=" + n);
            for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16}) {
                FloatOps.store(b, 3, kv, 8, type, n);
                float got = type == GgmlType.F32 ? FloatOpsVector.dotF32(a, 2, kv, 8, n) : FloatOpsVector.dotF16(a, 2, kv, 8, n);
                float expected = type == GgmlType.F32 ? FloatOps.scalarDotF32(a, 2, kv, 8, n) : FloatOps.scalarDotF16(a, 2, kv, 8, n);
                assertEquals(expected, got, 1e-6 * magnitude, type + " dot n=" + n);
                float[] y1 = TestTensors.randomFloats(n + 1, 120 + n, 1f);
                float[] y2 = y1.clone();
                FloatOps.scalarAxpy(0.3f, kv, 8, type, y1, 1, n);
                if (type == GgmlType.F32) {
                    FloatOpsVector.axpyF32(0.3f, kv, 8, y2, 1, n);
                } else {
                    FloatOpsVector.axpyF16(0.3f, kv, 8, y2, 1, n);
                }
                assertArrayEquals(y1, y2, 0f, type + " axpy n=" + n);
            }
        }
    }

    @Test
    void shouldConvertF16SpecialValuesExactlyInTheVectorPath() {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        // Every fp16 bit pattern: subnormals, infinities, NaNs, both zeros.
        MemorySegment kv = Arena.ofAuto().allocate(2L * 65536);
        for (int h = 0; h < 65536; h++) {
            kv.set(TestTensors.I16_LE, 2L * h, (short) h);
        }
        float[] y = new float[65536];
        FloatOpsVector.axpyF16(1f, kv, 0, y, 0, 65536);
        for (int h = 0; h < 65536; h++) {
            float expected = Float.float16ToFloat((short) h);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(y[h]), "bits " + Integer.toHexString(h));
            } else {
                assertEquals(expected + 0f, y[h], 0f, "bits " + Integer.toHexString(h));
            }
        }
    }
}
