package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Row dequantization of hand-built blocks, in both kernel modes. */
class ReadRowTest {

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldDequantizeQ8Blocks(KernelMode mode) {
        // Two rows of one block each; row 1: d = 0.5, q[j] = j - 16 (q[31] = 15), then q[0] = -128.
        MemorySegment seg = Arena.ofAuto().allocate(68);
        seg.set(TestTensors.I16_LE, 34, (short) 0x3800); // fp16 0.5
        for (int j = 0; j < 32; j++) {
            seg.set(ValueLayout.JAVA_BYTE, 36 + j, (byte) (j - 16));
        }
        seg.set(ValueLayout.JAVA_BYTE, 36, (byte) -128);
        WeightMatrix m = matrix(GgmlType.Q8_0, 2, 32, seg, mode);
        float[] dst = new float[40];
        m.readRow(1, dst, 8);
        float[] expected = new float[32];
        for (int j = 0; j < 32; j++) {
            expected[j] = (j - 16) * 0.5f;
        }
        expected[0] = -64f;
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(dst, 8, 40), 0f);
    }

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldDequantizeQ4Blocks(KernelMode mode) {
        // d = 2; byte j holds low nibble j (element j) and high nibble 15 - j (element j + 16).
        MemorySegment seg = Arena.ofAuto().allocate(18);
        seg.set(TestTensors.I16_LE, 0, (short) 0x4000); // fp16 2.0
        for (int j = 0; j < 16; j++) {
            seg.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (j | ((15 - j) << 4)));
        }
        WeightMatrix m = matrix(GgmlType.Q4_0, 1, 32, seg, mode);
        float[] dst = new float[32];
        m.readRow(0, dst, 0);
        for (int j = 0; j < 16; j++) {
            assertEquals((j - 8) * 2f, dst[j], 0f, "element " + j);
            assertEquals((7 - j) * 2f, dst[j + 16], 0f, "element " + (j + 16));
        }
    }

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldDequantizeF16IncludingSubnormalsAndInfinity(KernelMode mode) {
        short[] bits = {0x3c00, (short) 0xc000, 0x0001, 0x03ff, 0x7bff, 0x7c00, (short) 0x8000, 0x3555};
        float[] expected = {1f, -2f, 0x1p-24f, 0x3ffp-24f, 65504f, Float.POSITIVE_INFINITY, -0f, 0.33325195f};
        MemorySegment seg = Arena.ofAuto().allocate(2L * bits.length);
        for (int i = 0; i < bits.length; i++) {
            seg.set(TestTensors.I16_LE, 2L * i, bits[i]);
        }
        float[] dst = new float[bits.length];
        matrix(GgmlType.F16, 1, bits.length, seg, mode).readRow(0, dst, 0);
        assertArrayEquals(expected, dst, 0f);
    }

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldDequantizeBf16(KernelMode mode) {
        short[] bits = {0x3f80, (short) 0xc040, 0x7f80, 0x0001, 0x4049};
        float[] expected = {1f, -3f, Float.POSITIVE_INFINITY, Float.intBitsToFloat(0x00010000), 3.140625f};
        MemorySegment seg = Arena.ofAuto().allocate(2L * bits.length);
        for (int i = 0; i < bits.length; i++) {
            seg.set(TestTensors.I16_LE, 2L * i, bits[i]);
        }
        float[] dst = new float[bits.length];
        matrix(GgmlType.BF16, 1, bits.length, seg, mode).readRow(0, dst, 0);
        assertArrayEquals(expected, dst, 0f);
    }

    private static WeightMatrix matrix(GgmlType type, int rows, int cols, MemorySegment seg, KernelMode mode) {
        KernelMode m = mode == KernelMode.VECTOR && !KernelMode.vectorAvailable() ? KernelMode.SCALAR : mode;
        return WeightMatrix.of(new GgufTensorInfo("w", new long[] {cols, rows}, type, 0, seg), m);
    }
}
