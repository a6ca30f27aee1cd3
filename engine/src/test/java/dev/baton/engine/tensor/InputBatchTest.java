package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.baton.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

class InputBatchTest {

    @Test
    void shouldQuantizeQ8AsGgmlDoes() {
        int cols = 96;
        float[] x = TestTensors.randomFloats(2 * cols + 5, 21, 3f);
        x[5 + 40] = 0f; // a block with a zero
        InputBatch in = new InputBatch(2, cols);
        in.load(x, 5, cols, 2, cols, GgmlType.Q8_0);
        for (int v = 0; v < 2; v++) {
            for (int b = 0; b < cols / 32; b++) {
                int base = 5 + v * cols + b * 32;
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[base + j]));
                }
                float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                assertEquals(d, in.q8Scale(v, b), 0f, "scale of block " + b);
                float id = 127f / amax;
                for (int j = 0; j < 32; j++) {
                    float q = Math.round(x[base + j] * id); // ties are measure-zero in random data
                    assertEquals(q, in.value(v, b * 32 + j), 0f, "element " + (b * 32 + j));
                    // The integer times the scale comes back within half a step (plus fp16 rounding of d).
                    assertEquals(x[base + j], q * d, 0.5 * d + Math.abs(q) * d * 1e-3);
                }
            }
        }
    }

    @Test
    void shouldQuantizeAllZeroBlocksToZeroScaleAndZeroIntegers() {
        InputBatch in = new InputBatch(1, 32);
        in.load(new float[32], 0, 32, 1, 32, GgmlType.Q8_0);
        assertEquals(0f, in.q8Scale(0, 0));
        for (int j = 0; j < 32; j++) {
            assertEquals(0f, in.value(0, j));
        }
    }

    @Test
    void shouldRoundTiesToEvenInQ8Quantization() {
        // amax 127 makes 127/amax = 1, so x itself is rounded: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        InputBatch in = new InputBatch(1, 32);
        in.load(x, 0, 32, 1, 32, GgmlType.Q8_0);
        assertEquals(1f, in.q8Scale(0, 0));
        assertEquals(127f, in.value(0, 0));
        assertEquals(2f, in.value(0, 1));
        assertEquals(4f, in.value(0, 2));
        assertEquals(-2f, in.value(0, 3));
    }

    @Test
    void shouldRoundF16AndBf16InputsToNearestEven() {
        float[] x = {1f + 0x1p-11f, 1f + 0x3p-11f, 1f + 0x1p-8f, 1f + 0x3p-8f, 70000f};
        InputBatch in = new InputBatch(1, 5);
        in.load(x, 0, 5, 1, 5, GgmlType.F16);
        assertEquals(1f, in.value(0, 0));
        assertEquals(1f + 0x1p-9f, in.value(0, 1));
        assertEquals(Float.POSITIVE_INFINITY, in.value(0, 4));
        in.load(x, 0, 5, 1, 5, GgmlType.BF16);
        assertEquals(1f, in.value(0, 2));
        assertEquals(1f + 0x1p-6f, in.value(0, 3));
    }

    @Test
    void shouldRejectMoreVectorsThanItsCapacity() {
        InputBatch in = new InputBatch(2, 32);
        assertThrows(IllegalArgumentException.class, () -> in.load(new float[96], 0, 32, 3, 32, GgmlType.F32));
        assertThrows(IllegalArgumentException.class, () -> in.load(new float[96], 0, 33, 1, 33, GgmlType.F32));
        assertThrows(IllegalArgumentException.class, () -> in.load(new float[40], 0, 20, 1, 20, GgmlType.Q8_0));
    }
}
