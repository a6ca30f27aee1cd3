package dev.baton.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GgufQuantizerTest {

    @Test
    void shouldRoundHalfwayQ8_0ValuesAwayFromZeroLikeRoundf() {
        float[] x = new float[32];
        x[0] = 127f; // amax 127: d = 1, id = 1
        x[1] = 0.5f;
        x[2] = -0.5f;
        x[3] = -2.5f;
        x[4] = 2.5f;
        x[5] = -127f;
        x[6] = 0.49999997f;
        byte[] q = GgufQuantizer.quantize(GgmlType.Q8_0, x);
        assertEquals(34, q.length);
        assertEquals(0x3c00, (q[0] & 0xff) | (q[1] & 0xff) << 8); // f16 1.0
        assertArrayEquals(new byte[] {127, 1, -1, -3, 3, -127, 0, 0}, java.util.Arrays.copyOfRange(q, 2, 10));
    }

    @Test
    void shouldQuantizeAQ4_0BlockLikeGgml() {
        // x[j] = j - 16: the largest magnitude is -16, so d = -16 / -8 = 2 and id = 0.5;
        // nibble = min(15, trunc(x * id + 8.5)) = min(15, (j + 1) / 2) for j = 0..31.
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = j - 16;
        }
        byte[] q = GgufQuantizer.quantize(GgmlType.Q4_0, x);
        assertEquals(18, q.length);
        assertEquals(0x4000, (q[0] & 0xff) | (q[1] & 0xff) << 8); // f16 2.0
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (j + 1) / 2);
            int hi = Math.min(15, (j + 17) / 2);
            assertEquals(lo | hi << 4, q[2 + j] & 0xff, "byte " + j);
        }
        float[] back = GgufQuantizer.dequantize(GgmlType.Q4_0, MemorySegment.ofArray(q), 32);
        assertEquals(-16f, back[0]);
        assertEquals(14f, back[31]); // nibble 15 -> (15 - 8) * 2
    }

    @Test
    void shouldWriteAllZeroBlocksWithAZeroScale() {
        byte[] q8 = GgufQuantizer.quantize(GgmlType.Q8_0, new float[32]);
        byte[] q4 = GgufQuantizer.quantize(GgmlType.Q4_0, new float[32]);
        assertArrayEquals(new byte[34], q8);
        byte[] want4 = new byte[18];
        want4[1] = (byte) 0x80; // d = 0 / -8 = -0.0, as in C
        java.util.Arrays.fill(want4, 2, 18, (byte) 0x88); // nibble 8 means 0
        assertArrayEquals(want4, q4);
    }

    @Test
    void shouldKeepQuantizationErrorWithinHalfAStepExceptAtTheClampedEnd() {
        float[] x = GgufWriterTest.random(32 * 50, 7);
        float[] q8 = GgufQuantizer.dequantize(GgmlType.Q8_0, MemorySegment.ofArray(GgufQuantizer.quantize(GgmlType.Q8_0, x)), x.length);
        float[] q4 = GgufQuantizer.dequantize(GgmlType.Q4_0, MemorySegment.ofArray(GgufQuantizer.quantize(GgmlType.Q4_0, x)), x.length);
        for (int b = 0; b < 50; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            }
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                assertTrue(Math.abs(q8[i] - x[i]) <= amax / 127 * 0.5 + 1e-3 * amax, "q8_0 element " + i);
                // Q4_0 spans -8d..7d: the end opposite the largest magnitude is clamped by up to one step
                assertTrue(Math.abs(q4[i] - x[i]) <= amax / 8 * (Math.abs(x[i]) > amax * 7 / 8 ? 1 : 0.5) + 1e-3 * amax,
                        "q4_0 element " + i);
            }
        }
    }

    @Test
    void shouldRoundF16AndBf16ToNearestEven() {
        assertEquals((short) 0x3c00, GgufQuantizer.fp32ToFp16(1.0f));
        assertEquals((short) 0x7bff, GgufQuantizer.fp32ToFp16(65504f));
        assertEquals((short) 0x7c00, GgufQuantizer.fp32ToFp16(65520f)); // rounds up to infinity
        // bf16: 1 + 2^-8 is half-way between 1 and 1 + 2^-7: ties to the even mantissa (1.0)
        assertEquals((short) 0x3f80, GgufQuantizer.fp32ToBf16(1.00390625f));
        // 1 + 3 * 2^-8 is half-way between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
        assertEquals((short) 0x3f82, GgufQuantizer.fp32ToBf16(1.01171875f));
        assertEquals((short) 0x7fc0, GgufQuantizer.fp32ToBf16(Float.NaN));
        assertEquals(-2.5f, GgufQuantizer.bf16ToFp32(GgufQuantizer.fp32ToBf16(-2.5f)));
    }

    @Test
    void shouldRoundLikeCRoundf() {
        assertEquals(1f, GgufQuantizer.roundf(0.5f));
        assertEquals(-1f, GgufQuantizer.roundf(-0.5f));
        assertEquals(0f, GgufQuantizer.roundf(0.49999997f));
        assertEquals(-0f, GgufQuantizer.roundf(-0.2f));
        assertEquals(127f, GgufQuantizer.roundf(126.5f));
    }

    @Test
    void shouldRejectPartialBlocksAndUnknownEncodings() {
        assertEquals("31 values do not fill whole Q8_0 blocks of 32",
                assertThrows(IllegalArgumentException.class, () -> GgufQuantizer.quantize(GgmlType.Q8_0, new float[31])).getMessage());
        assertEquals("cannot encode tensor type Q6_K (supported: F32, F16, BF16, Q8_0, Q4_0)",
                assertThrows(IllegalArgumentException.class, () -> GgufQuantizer.quantize(GgmlType.Q6_K, new float[256])).getMessage());
    }

    /**
     * The oracle's tiny-q8_0 holds the tiny-f32 weights quantized by the reference quantizer; quantizing
     * tiny-f32 here must give the same bytes.
     */
    @Test
    void shouldReproduceTheOraclesQ8_0BytesFromItsF32Weights() throws IOException {
        Path models = Path.of(System.getProperty("baton.oracle.dir", "../../shared/oracle"), "models");
        assumeTrue(Files.exists(models.resolve("tiny-f32.gguf")), "oracle models not present");
        try (GgufFile f32 = GgufFile.open(models.resolve("tiny-f32.gguf"));
                GgufFile q8 = GgufFile.open(models.resolve("tiny-q8_0.gguf"))) {
            int compared = 0;
            for (GgufTensorInfo t : q8.tensors().values()) {
                GgufTensorInfo src = f32.tensor(t.name());
                if (t.type() == GgmlType.Q8_0) {
                    byte[] mine = GgufQuantizer.quantize(GgmlType.Q8_0, GgufQuantizer.dequantize(src));
                    assertEquals(-1L, MemorySegment.ofArray(mine).mismatch(t.data()), t.name());
                    compared++;
                } else {
                    assertEquals(-1L, src.data().mismatch(t.data()), t.name());
                }
            }
            assertTrue(compared >= 15, "compared " + compared + " Q8_0 tensors");
        }
    }
}
