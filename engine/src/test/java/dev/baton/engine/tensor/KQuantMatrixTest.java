package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufTensorInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The K-quant matrices' scalar kernels and the Q8_K input they read. */
class KQuantMatrixTest {

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void shouldComputeTheDotOfTheDequantizedRowWithTheQ8KInput(GgmlType type) {
        int rows = 11;
        int cols = 768;
        WeightMatrix m = WeightMatrix.of(TestTensors.randomKQuant("w", type, rows, cols, 21), KernelMode.SCALAR);
        assertEquals(GgmlType.Q8_K, m.inputType());
        InputBatch in = new InputBatch(3, cols);
        in.load(TestTensors.randomFloats(3 * cols, 22, 1f), 0, cols, 3, cols, GgmlType.Q8_K);
        float[] out = new float[3 * rows];
        m.matmul(in, out, 0, rows, 0, rows);
        for (int v = 0; v < 3; v++) {
            for (int r = 0; r < rows; r++) {
                // The kernel sums scale * q * x in integers, the dequantized row rounds d*scale*q - dmin*min per
                // value: both are within float rounding of the exact sum.
                double tol = 1e-5 * TestTensors.magnitude(m, r, in, v) + 1e-30;
                assertEquals(TestTensors.referenceDot(m, r, in, v), out[v * rows + r], tol,
                        type + " row " + r + " vector " + v);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void shouldGiveBitIdenticalResultsWhateverTheBatchSizeAndRowSplit(GgmlType type) {
        for (KernelMode mode : KernelMode.vectorAvailable() ? KernelMode.values() : new KernelMode[] {KernelMode.SCALAR}) {
            int rows = 23;
            int cols = 512;
            WeightMatrix m = WeightMatrix.of(TestTensors.randomKQuant("w", type, rows, cols, 23), mode);
            float[] x = TestTensors.randomFloats(13 * cols, 24, 1f);
            InputBatch in = new InputBatch(13, cols);
            float[][] single = new float[13][rows];
            for (int v = 0; v < 13; v++) {
                in.load(x, v * cols, cols, 1, cols, GgmlType.Q8_K);
                m.matmul(in, single[v], 0, 0, 0, rows);
            }
            for (int n : new int[] {2, 4, 5, 8, 13}) {
                for (int[] split : new int[][] {{0, rows}, {0, 1, 2, 7, 8, 22, 23}, {0, 3, 6, 23}}) {
                    int start = 13 - n;
                    in.load(x, start * cols, cols, n, cols, GgmlType.Q8_K);
                    int stride = rows + 3;
                    float[] out = new float[5 + n * stride];
                    for (int s = 0; s + 1 < split.length; s++) {
                        m.matmul(in, out, 5, stride, split[s], split[s + 1]);
                    }
                    for (int v = 0; v < n; v++) {
                        assertArrayEquals(single[start + v], Arrays.copyOfRange(out, 5 + v * stride, 5 + v * stride + rows), 0f,
                                type + " " + mode + " n=" + n + " split=" + Arrays.toString(split) + " vector " + v);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void shouldGiveBitIdenticalResultsWithVectorAndScalarKernels(GgmlType type) {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        GgufTensorInfo t = TestTensors.randomKQuant("w", type, 37, 768, 41);
        WeightMatrix vector = WeightMatrix.of(t, KernelMode.VECTOR);
        assertEquals(KernelMode.VECTOR, vector.mode());
        assertKernelsBitIdentical(vector, WeightMatrix.of(t, KernelMode.SCALAR), 9, 1f);
        assertKernelsBitIdentical(vector, WeightMatrix.of(t, KernelMode.SCALAR), 6, 1e6f);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void shouldStayExactAtTheLargestIntegerSums(GgmlType type) {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        // Every |scale * q| at its largest (Q4_K 63 * 15, Q5_K 63 * 31, Q6_K 128 * 32) and every input integer at +-127: Q6_K's lane sums reach
        // 32 * 128 * 32 * 127 = 16,646,144, just below 2^24, where float sums are still exact.
        // 20 rows: whole groups of the row-interleaved kernels (16 or 8 rows) and rows outside them
        int rows = 20;
        GgufTensorInfo t = TestTensors.randomKQuant("w", type, rows, 512, 42);
        MemorySegment w = t.data();
        for (long bo = 0; bo < w.byteSize(); bo += type.blockBytes) {
            if (type == GgmlType.Q2_K) {
                w.asSlice(bo, 80).fill((byte) 0xFF); // scales and mins 15, values 3
            } else if (type == GgmlType.Q3_K) {
                w.asSlice(bo, 108).fill((byte) 0); // values -4, scales -32
            } else if (type == GgmlType.Q4_K) {
                w.asSlice(bo + 4, 140).fill((byte) 0xFF); // scales and mins 63, values 15
            } else if (type == GgmlType.Q5_K) {
                w.asSlice(bo + 4, 172).fill((byte) 0xFF); // scales and mins 63, values 31
            } else {
                w.asSlice(bo, 192).fill((byte) 0); // values -32
                w.asSlice(bo + 192, 16).fill((byte) -128);
            }
        }
        WeightMatrix vector = WeightMatrix.of(t, KernelMode.VECTOR);
        WeightMatrix scalar = WeightMatrix.of(t, KernelMode.SCALAR);
        float[] x = new float[5 * 512];
        Arrays.fill(x, -0.75f);
        InputBatch in = new InputBatch(5, 512);
        in.load(x, 0, 512, 5, 512, GgmlType.Q8_K);
        assertEquals(-127f, in.value(4, 511));
        float[] a = new float[5 * rows];
        float[] b = new float[5 * rows];
        vector.matmul(in, a, 0, rows, 0, rows);
        scalar.matmul(in, b, 0, rows, 0, rows);
        assertArrayEquals(b, a, 0f, type.toString());
        if (type == GgmlType.Q6_K) {
            // each of ggml's eight lanes: 32 values of (-128) * (-32) * (-127), in each of two super-blocks
            int lane = -32 * 128 * 32 * 127;
            float[] sums = new float[8];
            for (int blk = 0; blk < 2; blk++) {
                float d = Float.float16ToFloat(w.get(TestTensors.I16_LE, blk * 210L + 208)) * in.q8Scale(0, blk);
                for (int l = 0; l < 8; l++) {
                    sums[l] += d * lane;
                }
            }
            float expected = 0f;
            for (int l = 0; l < 8; l++) {
                expected += sums[l];
            }
            assertEquals(expected, b[0], 0f);
            assertEquals(expected, a[0], 0f);
        }
    }

    @Test
    @Timeout(120)
    void shouldGiveTheSameBitsWithAvx2VectorsAsHere() throws IOException, InterruptedException {
        assumeTrue(KernelMode.vectorAvailable(), "Vector API not usable here");
        String here = KQuantWidthMain.digests(KernelMode.VECTOR);
        assertEquals(KQuantWidthMain.digests(KernelMode.SCALAR), here, "vector and scalar kernels here");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xmx256m", "-XX:+UseSerialGC", "-XX:UseAVX=2",
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                KQuantWidthMain.class.getName())
                .redirectErrorStream(true)
                .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the AVX2 JVM did not finish");
        assertEquals(0, p.exitValue(), output);
        String[] lines = output.lines().filter(l -> !l.startsWith("WARNING")).toArray(String[]::new);
        assumeTrue(lines.length == 2 && lines[0].equals("8") && VectorKernels.L != 8,
                "needs a CPU with wider vectors than AVX2's (here " + VectorKernels.L + " lanes; forked: " + output + ")");
        assertEquals(here, lines[1], "AVX2 (8 lanes) against " + VectorKernels.L + " lanes");
    }

    private static void assertKernelsBitIdentical(WeightMatrix vector, WeightMatrix scalar, int n, float inputScale) {
        int rows = vector.rows();
        int cols = vector.cols();
        float[] x = TestTensors.randomFloats(n * cols, 43, inputScale);
        InputBatch in = new InputBatch(n, cols);
        in.load(x, 0, cols, n, cols, GgmlType.Q8_K);
        float[] a = new float[n * rows];
        float[] b = new float[n * rows];
        vector.matmul(in, a, 0, rows, 0, rows);
        scalar.matmul(in, b, 0, rows, 0, rows);
        assertArrayEquals(b, a, 0f, vector.type() + " n=" + n);
    }

    @Test
    void shouldQuantizeToQ8KAsGgmlDoes() {
        float[] x = new float[512];
        for (int i = 0; i < 256; i++) {
            x[i] = (i % 7 - 3) * 0.25f;
        }
        // the largest magnitude, twice: the first one is max = -127/64, so iscale = -127/max = 64 exactly
        x[10] = -1.984375f;
        x[20] = 1.984375f;
        x[30] = 0.5f / 64; // 0.5 after scaling: rounds half to even, to 0
        x[31] = 1.5f / 64; // 1.5: to 2
        x[32] = -2.5f / 64; // -2.5: to -2
        // the second super-block stays all zero
        InputBatch in = new InputBatch(1, 512);
        in.load(x, 0, 512, 1, 512, GgmlType.Q8_K);
        assertEquals(1f / 64, in.q8Scale(0, 0));
        assertEquals(-127f, in.value(0, 10));
        assertEquals(127f, in.value(0, 20));
        assertEquals(0f, in.value(0, 30));
        assertEquals(2f, in.value(0, 31));
        assertEquals(-2f, in.value(0, 32));
        assertEquals(48f, in.value(0, 6)); // 0.75 * 64
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) {
                sum += (int) in.value(0, 16 * g + i);
            }
            assertEquals(sum, in.q8kGroupSum(0, g), "group " + g);
        }
        assertEquals(0f, in.q8Scale(0, 1));
        for (int i = 256; i < 512; i++) {
            assertEquals(0f, in.value(0, i));
        }
        assertEquals(0, in.q8kGroupSum(0, 16));
    }

    @Test
    void shouldRefuseAQ8KInputThatIsNotAWholeNumberOfSuperBlocks() {
        InputBatch in = new InputBatch(1, 512);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> in.load(new float[288], 0, 288, 1, 288, GgmlType.Q8_K));
        assertEquals("Q8_K input needs cols (288) to be a multiple of 256", e.getMessage());
    }
}
