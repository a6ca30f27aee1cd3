package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;
import java.util.Arrays;

/**
 * Run by {@link KQuantMatrixTest} in a JVM with another vector width (-XX:UseAVX=2): prints the float
 * lane count, then per K-quant type a digest of the bits of a matmul's outputs.
 */
public final class KQuantWidthMain {

    static final GgmlType[] TYPES = {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};

    private KQuantWidthMain() {}

    /** {@code "<type>=<digest>"} for each type, computed with {@code mode}'s kernels. */
    static String digests(KernelMode mode) {
        StringBuilder sb = new StringBuilder();
        int rows = 29;
        int cols = 768;
        int n = 9; // two tiles of four vectors and one vector alone
        for (GgmlType type : TYPES) {
            WeightMatrix m = WeightMatrix.of(TestTensors.randomKQuant("w", type, rows, cols, 31 + type.id), mode);
            InputBatch in = new InputBatch(n, cols);
            in.load(TestTensors.randomFloats(n * cols, 32, 1f), 0, cols, n, cols, GgmlType.Q8_K);
            float[] out = new float[n * rows];
            m.matmul(in, out, 0, rows, 0, rows);
            int[] bits = new int[out.length];
            for (int i = 0; i < out.length; i++) {
                bits[i] = Float.floatToRawIntBits(out[i]);
            }
            sb.append(sb.isEmpty() ? "" : " ").append(type).append('=').append(Integer.toHexString(Arrays.hashCode(bits)));
        }
        return sb.toString();
    }

    public static void main(String[] args) {
        System.out.println(VectorKernels.L);
        System.out.println(digests(KernelMode.VECTOR));
    }
}
