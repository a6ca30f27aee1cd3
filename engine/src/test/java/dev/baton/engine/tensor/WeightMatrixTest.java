package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufTensorInfo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class WeightMatrixTest {

    private static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0};

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void shouldAgreeBetweenVectorAndScalarKernelsOnRandomData(GgmlType type) {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        int rows = 37;
        int cols = type.blockSize > 1 ? 288 : 300; // 300: a tail beyond the vector width
        GgufTensorInfo t = TestTensors.tensor("w", type, rows, cols, TestTensors.randomFloats(rows * cols, 1, 0.5f));
        assertKernelsAgree(WeightMatrix.of(t, KernelMode.VECTOR), WeightMatrix.of(t, KernelMode.SCALAR), 9);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32.gguf", "tiny-q8_0.gguf", "small-q8_0.gguf", "small-q4_0.gguf", "small-kq-q4_k-pure.gguf",
        "small-kq-q6_k.gguf"})
    void shouldAgreeBetweenVectorAndScalarKernelsOnOracleTensors(String file) throws IOException {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        try (GgufFile gguf = GgufFile.open(TestTensors.oracleModel(file))) {
            for (String name : new String[] {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "blk.0.ffn_gate.weight"}) {
                GgufTensorInfo t = gguf.tensor(name);
                assertKernelsAgree(WeightMatrix.of(t, KernelMode.VECTOR), WeightMatrix.of(t, KernelMode.SCALAR), 5);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16"})
    void shouldAgreeBetweenVectorAndScalarKernelsOnOracleWeightsConvertedToHalfPrecision(GgmlType type) throws IOException {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        try (GgufFile gguf = GgufFile.open(TestTensors.oracleModel("tiny-f32.gguf"))) {
            for (String name : new String[] {"blk.0.attn_q.weight", "blk.1.ffn_down.weight"}) {
                WeightMatrix f32 = WeightMatrix.of(gguf.tensor(name), KernelMode.SCALAR);
                float[] values = new float[f32.rows() * f32.cols()];
                for (int r = 0; r < f32.rows(); r++) {
                    f32.readRow(r, values, r * f32.cols());
                }
                GgufTensorInfo t = TestTensors.tensor(name, type, f32.rows(), f32.cols(), values);
                assertKernelsAgree(WeightMatrix.of(t, KernelMode.VECTOR), WeightMatrix.of(t, KernelMode.SCALAR), 5);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldComputeTheDotOfTheDequantizedRowWithTheConvertedInput(KernelMode mode) {
        assumeTrue(mode == KernelMode.SCALAR || KernelMode.vectorAvailable(), "Vector API not usable here");
        for (GgmlType type : TYPES) {
            int rows = 19;
            int cols = 320;
            WeightMatrix m = WeightMatrix.of(
                    TestTensors.tensor("w", type, rows, cols, TestTensors.randomFloats(rows * cols, 2, 1f)), mode);
            InputBatch in = new InputBatch(3, cols);
            in.load(TestTensors.randomFloats(3 * cols, 3, 1f), 0, cols, 3, cols, m.inputType());
            float[] out = new float[3 * rows];
            m.matmul(in, out, 0, rows, 0, rows);
            for (int v = 0; v < 3; v++) {
                for (int r = 0; r < rows; r++) {
                    double expected = TestTensors.referenceDot(m, r, in, v);
                    double tol = 2e-6 * TestTensors.magnitude(m, r, in, v) + 1e-30;
                    assertEquals(expected, out[v * rows + r], tol, type + " row " + r + " vector " + v);
                }
            }
        }
    }

    @Test
    void shouldSumEachF32RowAsOneFmaChainInColumnOrderWithTheVectorKernels() {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        int rows = 53; // whole groups of 16 and of 8 rows, tiles of 2 and 4 groups, and rows outside them
        int cols = 75;
        GgufTensorInfo t = TestTensors.tensor("w", GgmlType.F32, rows, cols, TestTensors.randomFloats(rows * cols, 31, 1f));
        WeightMatrix m = WeightMatrix.of(t, KernelMode.VECTOR);
        for (int n : new int[] {1, 4, 6}) {
            InputBatch in = new InputBatch(n, cols);
            float[] x = TestTensors.randomFloats(n * cols, 32 + n, 3f);
            in.load(x, 0, cols, n, cols, GgmlType.F32);
            float[] out = new float[n * rows];
            m.matmul(in, out, 0, rows, 0, rows);
            for (int v = 0; v < n; v++) {
                for (int r = 0; r < rows; r++) {
                    float acc = 0f;
                    for (int i = 0; i < cols; i++) {
                        acc = Math.fma(t.data().get(HalfFloats.F32_LE, 4L * (r * cols + i)), x[v * cols + i], acc);
                    }
                    assertEquals(Float.floatToIntBits(acc), Float.floatToIntBits(out[v * rows + r]),
                            "n=" + n + " row " + r + " vector " + v + ": " + acc + " vs " + out[v * rows + r]);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldDoLlamaCppArithmeticBitForBitOnQuantizedWeights(KernelMode mode) {
        assumeTrue(mode == KernelMode.SCALAR || KernelMode.vectorAvailable(), "Vector API not usable here");
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            int rows = 37; // 2 x 4 tiles, 4 x 1 tiles and single rows
            int cols = 32 * 11;
            GgufTensorInfo t = TestTensors.tensor("w", type, rows, cols, TestTensors.randomFloats(rows * cols, 12, 1f));
            WeightMatrix m = WeightMatrix.of(t, mode);
            for (int n : new int[] {1, 3, 4, 9}) {
                InputBatch in = new InputBatch(n, cols);
                in.load(TestTensors.randomFloats(n * cols, 13 + n, 2f), 0, cols, n, cols, m.inputType());
                float[] out = new float[n * rows];
                m.matmul(in, out, 0, rows, 0, rows);
                for (int v = 0; v < n; v++) {
                    for (int r = 0; r < rows; r++) {
                        float expected = type == GgmlType.Q8_0 ? llamaCppQ8(t, r, in, v) : llamaCppQ4(t, r, in, v);
                        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(out[v * rows + r]),
                                type + " " + mode + " n=" + n + " row " + r + " vector " + v + ": " + expected + " vs "
                                        + out[v * rows + r]);
                    }
                }
            }
        }
    }

    /**
     * ggml_vec_dot_q8_0_q8_0 (x86, AVX2: also what AVX-512 builds run) and tinyBLAS_Q0_AVX: 8 float lanes,
     * lane i of a block the integer sum of elements 4i..4i+3, acc = fma(d_w * d_x, isum, acc), then hsum_float_8.
     */
    private static float llamaCppQ8(GgufTensorInfo t, int r, InputBatch in, int v) {
        int blocks = (int) t.cols() / 32;
        float[] acc = new float[8];
        for (int b = 0; b < blocks; b++) {
            long bo = (long) r * blocks * 34 + b * 34L;
            float d = Float.float16ToFloat(t.data().get(HalfFloats.I16_LE, bo)) * in.q8Scale(v, b);
            for (int i = 0; i < 8; i++) {
                int isum = 0;
                for (int k = 0; k < 4; k++) {
                    int j = 4 * i + k;
                    isum += t.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 2 + j) * (int) in.value(v, b * 32 + j);
                }
                acc[i] = Math.fma(d, (float) isum, acc[i]);
            }
        }
        return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    }

    /** ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0 (Q4_0 repacked on AVX2 CPUs): acc = fma(isum, d_w * d_x, acc). */
    private static float llamaCppQ4(GgufTensorInfo t, int r, InputBatch in, int v) {
        int blocks = (int) t.cols() / 32;
        float acc = 0f;
        for (int b = 0; b < blocks; b++) {
            long bo = (long) r * blocks * 18 + b * 18L;
            int isum = 0;
            for (int j = 0; j < 16; j++) {
                int q = t.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 2 + j) & 0xFF;
                isum += ((q & 0x0F) - 8) * (int) in.value(v, b * 32 + j) + ((q >> 4) - 8) * (int) in.value(v, b * 32 + j + 16);
            }
            acc = Math.fma((float) isum, Float.float16ToFloat(t.data().get(HalfFloats.I16_LE, bo)) * in.q8Scale(v, b), acc);
        }
        return acc;
    }

    @ParameterizedTest
    @EnumSource(KernelMode.class)
    void shouldGiveBitIdenticalResultsWhateverTheBatchSizeAndRowSplit(KernelMode mode) {
        assumeTrue(mode == KernelMode.SCALAR || KernelMode.vectorAvailable(), "Vector API not usable here");
        for (GgmlType type : TYPES) {
            int rows = 45;
            int cols = 288;
            WeightMatrix m = WeightMatrix.of(
                    TestTensors.tensor("w", type, rows, cols, TestTensors.randomFloats(rows * cols, 4, 1f)), mode);
            float[] x = TestTensors.randomFloats(32 * cols, 5, 1f);
            InputBatch in = new InputBatch(32, cols);

            // Reference: each vector alone, all rows at once.
            float[][] single = new float[32][rows];
            for (int v = 0; v < 32; v++) {
                in.load(x, v * cols, cols, 1, cols, m.inputType());
                m.matmul(in, single[v], 0, 0, 0, rows);
            }
            for (int n : new int[] {2, 3, 5, 8, 13, 32}) {
                for (int[] split : new int[][] {{0, rows}, {0, 1, 2, 7, 8, 20, 44, 45}, {0, 3, 6, 9, 45}}) {
                    // Vectors [start, start+n), written with an offset and a padded stride.
                    int start = 32 - n;
                    in.load(x, start * cols, cols, n, cols, m.inputType());
                    int stride = rows + 5;
                    float[] out = new float[7 + n * stride];
                    for (int s = 0; s + 1 < split.length; s++) {
                        m.matmul(in, out, 7, stride, split[s], split[s + 1]);
                    }
                    for (int v = 0; v < n; v++) {
                        float[] got = Arrays.copyOfRange(out, 7 + v * stride, 7 + v * stride + rows);
                        assertArrayEquals(single[start + v], got, 0f,
                                type + " " + mode + " n=" + n + " split=" + Arrays.toString(split) + " vector " + v);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0"})
    void shouldSumTheLanesOfMultiRowTilesExactlyAsSingleRowTilesDo(GgmlType type) {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        int rows = 16;
        int cols = 32 * 12;
        WeightMatrix m = WeightMatrix.of(
                TestTensors.tensor("w", type, rows, cols, TestTensors.randomFloats(rows * cols, 8, 1f)), KernelMode.VECTOR);
        for (int n : new int[] {1, 4}) {
            InputBatch in = new InputBatch(n, cols);
            in.load(TestTensors.randomFloats(n * cols, 9, 1f), 0, cols, n, cols, m.inputType());
            // One row per call: single-row tiles. All rows in one call: 4 x 1 (n = 1) or 2 x 4 (n = 4) tiles.
            float[] oneByOne = new float[n * rows];
            for (int r = 0; r < rows; r++) {
                m.matmul(in, oneByOne, 0, rows, r, r + 1);
            }
            float[] tiled = new float[n * rows];
            m.matmul(in, tiled, 0, rows, 0, rows);
            assertArrayEquals(oneByOne, tiled, 0f, type + " n=" + n);
        }
    }

    @Test
    void shouldGiveBitIdenticalResultsOnEveryThread() throws InterruptedException {
        int rows = 64;
        int cols = 288;
        WeightMatrix m = WeightMatrix.of(
                TestTensors.tensor("w", GgmlType.Q8_0, rows, cols, TestTensors.randomFloats(rows * cols, 6, 1f)));
        InputBatch in = new InputBatch(4, cols);
        in.load(TestTensors.randomFloats(4 * cols, 7, 1f), 0, cols, 4, cols, m.inputType());
        float[] expected = new float[4 * rows];
        m.matmul(in, expected, 0, rows, 0, rows);
        float[] out = new float[4 * rows];
        Thread a = Thread.ofPlatform().start(() -> m.matmul(in, out, 0, rows, 0, 20));
        Thread b = Thread.ofPlatform().start(() -> m.matmul(in, out, 0, rows, 20, rows));
        a.join();
        b.join();
        assertArrayEquals(expected, out, 0f);
    }

    @Test
    void shouldRejectAnUnsupportedTypeNamingTensorAndType() {
        GgufTensorInfo t = new GgufTensorInfo("blk.3.ffn_up.weight", new long[] {256, 4}, GgmlType.Q4_1, 0,
                Arena.ofAuto().allocate(GgmlType.Q4_1.byteSize(1024)));
        UnsupportedTensorException e = assertThrows(UnsupportedTensorException.class, () -> WeightMatrix.of(t));
        assertTrue(e.getMessage().contains("blk.3.ffn_up.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("Q4_1"), e.getMessage());
        assertEquals(GgmlType.Q4_1, e.type());
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void shouldRejectAKQuantRowThatIsNotAWholeNumberOfSuperBlocks(GgmlType type) {
        GgufTensorInfo t = new GgufTensorInfo("blk.0.attn_q.weight", new long[] {288, 2}, type, 0,
                Arena.ofAuto().allocate(2L * type.blockBytes));
        UnsupportedTensorException e = assertThrows(UnsupportedTensorException.class, () -> WeightMatrix.of(t));
        assertEquals("tensor 'blk.0.attn_q.weight' of type " + type + ": row length 288 is not a multiple of the block size 256",
                e.getMessage());
    }

    @Test
    void shouldRejectATensorThatIsNot2D() {
        GgufTensorInfo t = new GgufTensorInfo("output_norm.weight", new long[] {64}, GgmlType.F32, 0,
                Arena.ofAuto().allocate(256));
        UnsupportedTensorException e = assertThrows(UnsupportedTensorException.class, () -> WeightMatrix.of(t));
        assertTrue(e.getMessage().contains("output_norm.weight") && e.getMessage().contains("F32"), e.getMessage());
    }

    @Test
    void shouldRejectAnInputOfTheWrongType() {
        WeightMatrix m = WeightMatrix.of(TestTensors.tensor("w", GgmlType.Q8_0, 2, 32, new float[64]));
        InputBatch in = new InputBatch(1, 32);
        in.load(new float[32], 0, 32, 1, 32, GgmlType.F32);
        assertThrows(IllegalArgumentException.class, () -> m.matmul(in, new float[2], 0, 2, 0, 2));
    }

    @Test
    void shouldReportTheInputTypeOfEachWeightType() {
        assertEquals(GgmlType.F32, WeightMatrix.inputTypeFor(GgmlType.F32));
        assertEquals(GgmlType.F16, WeightMatrix.inputTypeFor(GgmlType.F16));
        assertEquals(GgmlType.BF16, WeightMatrix.inputTypeFor(GgmlType.BF16));
        assertEquals(GgmlType.Q8_0, WeightMatrix.inputTypeFor(GgmlType.Q8_0));
        assertEquals(GgmlType.Q8_0, WeightMatrix.inputTypeFor(GgmlType.Q4_0));
        for (GgmlType k : new GgmlType[] {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            assertEquals(GgmlType.Q8_K, WeightMatrix.inputTypeFor(k), k.name());
        }
    }

    /** Runs both matrices on {@code n} random vectors and compares every output with a tolerance scaled by the dot's magnitude. */
    private static void assertKernelsAgree(WeightMatrix vector, WeightMatrix scalar, int n) {
        assertEquals(KernelMode.VECTOR, vector.mode());
        int rows = vector.rows();
        int cols = vector.cols();
        InputBatch in = new InputBatch(n, cols);
        in.load(TestTensors.randomFloats(n * cols, 11, 1f), 0, cols, n, cols, vector.inputType());
        float[] a = new float[n * rows];
        float[] b = new float[n * rows];
        vector.matmul(in, a, 0, rows, 0, rows);
        scalar.matmul(in, b, 0, rows, 0, rows);
        for (int v = 0; v < n; v++) {
            for (int r = 0; r < rows; r++) {
                double tol = 2e-6 * TestTensors.magnitude(scalar, r, in, v) + 1e-30;
                assertEquals(b[v * rows + r], a[v * rows + r], tol,
                        vector.name() + " " + vector.type() + " row " + r + " vector " + v);
            }
        }
    }
}
