package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;

/**
 * Up to {@code maxVectors} input vectors of a matrix product, converted once to the format the dot
 * products read ({@link WeightMatrix#inputType()}), so that every row of every weight matrix that
 * takes the same input reuses the conversion.
 *
 * <p>Storage, allocated once in the constructor and reused by every {@link #load}:
 * <pre>
 *   values[v * cols + i]   element i of vector v, as a float:
 *                            F32   the input itself
 *                            F16   the input rounded to fp16 (then widened back, exactly)
 *                            BF16  the input rounded to bf16
 *                            Q8_0  the quantized integer q in [-127, 127], in group order (below)
 *                            Q8_K  the quantized integer q in [-127, 127]
 *   scales[v * cols/32 + b] Q8_0: block b's scale d, already rounded to fp16
 *   scales[v * cols/256 + b] Q8_K: super-block b's scale d, fp32
 *   bsums[v * cols/16 + g]  Q8_K only: the sum of the 16 integers of group g (ggml's bsums)
 * </pre>
 * The integers are kept as floats because the kernels multiply them as floats: a block's dot
 * product of integer pairs stays below 2^24, so float arithmetic computes it exactly. Within each
 * Q8_0 block they are stored in <b>group order</b>: position {@code 8t + i} holds element {@code 4i + t}
 * ({@link #groupPosition}), so that 8-float chunk {@code t} holds one element of each group of four
 * consecutive elements, lane {@code i} from group {@code i}: the lanes of llama.cpp's 256-bit dot
 * products (see Q8VectorMatrix).
 *
 * <p>Threading: {@link #load} is not thread-safe; once loaded, the batch is read-only and may be
 * shared by the threads that each compute a row range of a matmul.
 */
public final class InputBatch {

    /** Elements per Q8_0 block. */
    static final int QK = 32;
    /** Elements per Q8_K super-block. */
    static final int QK_K = 256;

    private final int maxVectors;
    private final int maxCols;
    final float[] values;
    final float[] scales;
    final int[] bsums;
    /** Q8_0 only: {@code 8 *} the sum of block b's 32 integers, at {@code v * cols/32 + b} (Q4_0's offset of 8, see Q4InterleavedMatrix). */
    final float[] offsets;
    private int vectorCount;
    private int cols;
    private GgmlType inputType = GgmlType.F32;

    public InputBatch(int maxVectors, int maxCols) {
        if (maxVectors <= 0 || maxCols <= 0) {
            throw new IllegalArgumentException("maxVectors (" + maxVectors + ") and maxCols (" + maxCols
                    + ") must be positive");
        }
        if ((long) maxVectors * maxCols > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxVectors * maxCols (" + (long) maxVectors * maxCols
                    + ") exceeds the largest float[]");
        }
        this.maxVectors = maxVectors;
        this.maxCols = maxCols;
        this.values = new float[maxVectors * maxCols];
        this.scales = new float[maxVectors * (maxCols / QK)];
        this.bsums = new int[maxVectors * (maxCols / 16)];
        this.offsets = new float[maxVectors * (maxCols / QK)];
    }

    /**
     * Loads {@code n} vectors, vector {@code v} at {@code x[xOffset + v*xStride .. + cols)}, converted
     * for {@code inputType}: F32 copied; F16 and BF16 rounded to nearest even; Q8_0 quantized per
     * block of 32 as ggml-cpu does on x86 ({@code quantize_row_q8_0}, the build the oracle ran):
     * {@code amax = max|x|}, {@code d = amax/127} stored as fp16, {@code q = rint(x * (127/amax))}
     * (ties to even). Allocation-free.
     *
     * @throws IllegalArgumentException if {@code n} or {@code cols} exceed the capacity, Q8_0
     *     {@code cols} is not a multiple of 32, the type is not an input type, or {@code x} is too short
     */
    public void load(float[] x, int xOffset, int xStride, int n, int cols, GgmlType inputType) {
        if (n < 1 || n > maxVectors) {
            throw new IllegalArgumentException("vector count " + n + " is outside [1, " + maxVectors + "]");
        }
        if (cols < 1 || cols > maxCols) {
            throw new IllegalArgumentException("cols " + cols + " is outside [1, " + maxCols + "]");
        }
        if (xOffset < 0 || (n > 1 && xStride < cols)
                || (long) xOffset + (long) (n - 1) * xStride + cols > x.length) {
            throw new IllegalArgumentException("input of " + n + " vectors of " + cols + " at offset " + xOffset
                    + " stride " + xStride + " does not fit in x[" + x.length + "]");
        }
        switch (inputType) {
            case F32 -> {
                for (int v = 0; v < n; v++) {
                    System.arraycopy(x, xOffset + v * xStride, values, v * cols, cols);
                }
            }
            case F16 -> {
                for (int v = 0; v < n; v++) {
                    int src = xOffset + v * xStride;
                    int dst = v * cols;
                    for (int i = 0; i < cols; i++) {
                        values[dst + i] = HalfFloats.f16ToFloat(HalfFloats.floatToF16(x[src + i]));
                    }
                }
            }
            case BF16 -> {
                for (int v = 0; v < n; v++) {
                    int src = xOffset + v * xStride;
                    int dst = v * cols;
                    for (int i = 0; i < cols; i++) {
                        values[dst + i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x[src + i]));
                    }
                }
            }
            case Q8_0 -> {
                if (cols % QK != 0) {
                    throw new IllegalArgumentException("Q8_0 input needs cols (" + cols + ") to be a multiple of 32");
                }
                int blocks = cols / QK;
                for (int v = 0; v < n; v++) {
                    quantizeQ8(x, xOffset + v * xStride, values, v * cols, scales, offsets, v * blocks, blocks);
                }
            }
            case Q8_K -> {
                if (cols % QK_K != 0) {
                    throw new IllegalArgumentException("Q8_K input needs cols (" + cols + ") to be a multiple of 256");
                }
                int blocks = cols / QK_K;
                for (int v = 0; v < n; v++) {
                    quantizeQ8K(x, xOffset + v * xStride, values, v * cols, scales, v * blocks, bsums, v * (cols / 16),
                            blocks);
                }
            }
            default -> throw new IllegalArgumentException("input type " + inputType
                    + " is not one of F32, F16, BF16, Q8_0, Q8_K");
        }
        this.vectorCount = n;
        this.cols = cols;
        this.inputType = inputType;
    }

    /** Where element {@code j} of a Q8_0 block is stored in the block's 32 values (group order). */
    static int groupPosition(int j) {
        return 8 * (j & 3) + (j >> 2);
    }

    /**
     * Quantizes {@code blocks} blocks of 32 from {@code x[xo..]}: integers to {@code q[qo..]} in group
     * order, scales to {@code d[dOff..]}, 8 times each block's integer sum to {@code offsets[dOff..]}.
     */
    static void quantizeQ8(float[] x, int xo, float[] q, int qo, float[] d, float[] offsets, int dOff, int blocks) {
        for (int b = 0; b < blocks; b++) {
            int base = xo + b * QK;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float id = amax != 0f ? 127f / amax : 0f;
            d[dOff + b] = HalfFloats.f16ToFloat(HalfFloats.floatToF16(amax / 127f));
            int qb = qo + b * QK;
            float sum = 0f; // integers below 2^24: exact
            for (int j = 0; j < QK; j++) {
                float v = (float) Math.rint(x[base + j] * id);
                q[qb + groupPosition(j)] = v;
                sum += v;
            }
            offsets[dOff + b] = 8f * sum;
        }
    }

    /**
     * Quantizes {@code blocks} super-blocks of 256 from {@code x[xo..]}: integers to {@code q[qo..]}, scales
     * to {@code d[dOff..]}, group sums to {@code bs[bOff..]} (ggml's quantize_row_q8_K_ref; an all-zero
     * super-block gets scale 0).
     */
    static void quantizeQ8K(float[] x, int xo, float[] q, int qo, float[] d, int dOff, int[] bs, int bOff, int blocks) {
        for (int b = 0; b < blocks; b++) {
            int base = xo + b * QK_K;
            int qb = qo + b * QK_K;
            float max = 0f;
            float amax = 0f;
            for (int j = 0; j < QK_K; j++) {
                float ax = Math.abs(x[base + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[base + j];
                }
            }
            if (amax == 0f) {
                d[dOff + b] = 0f;
                java.util.Arrays.fill(q, qb, qb + QK_K, 0f);
                java.util.Arrays.fill(bs, bOff + b * 16, bOff + b * 16 + 16, 0);
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < QK_K; j++) {
                q[qb + j] = Math.min(127, (int) Math.rint(iscale * x[base + j]));
            }
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) {
                    sum += (int) q[qb + g * 16 + j];
                }
                bs[bOff + b * 16 + g] = sum;
            }
            d[dOff + b] = 1f / iscale;
        }
    }

    public int vectorCount() {
        return vectorCount;
    }

    public int cols() {
        return cols;
    }

    public GgmlType inputType() {
        return inputType;
    }

    public int maxVectors() {
        return maxVectors;
    }

    public int maxCols() {
        return maxCols;
    }

    /** Q8_0: the scale of block {@code block} of vector {@code v}; Q8_K: of super-block {@code block}. */
    public float q8Scale(int v, int block) {
        return scales[v * (cols / (inputType == GgmlType.Q8_K ? QK_K : QK)) + block];
    }

    /** Q8_K only: the sum of the integers of 16-value group {@code group} of vector {@code v}. */
    public int q8kGroupSum(int v, int group) {
        return bsums[v * (cols / 16) + group];
    }

    /** Element {@code i} of vector {@code v}, as converted (see the class comment); Q8_0: the integer. */
    public float value(int v, int i) {
        if (inputType == GgmlType.Q8_0) {
            return values[v * cols + (i & ~(QK - 1)) + groupPosition(i & (QK - 1))];
        }
        return values[v * cols + i];
    }
}
