package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Random;

/** Builds weight tensors in memory, quantized with ggml's reference formulas, for the kernel tests. */
final class TestTensors {

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TestTensors() {}

    static Path oracleModel(String file) {
        String dir = System.getProperty("baton.oracle.dir");
        if (dir == null) {
            throw new IllegalStateException("baton.oracle.dir is not set (surefire sets it)");
        }
        return Path.of(dir, "models", file);
    }

    /** Normal values scaled by {@code scale}, with a few outliers so that blocks have varied scales. */
    static float[] randomFloats(int count, long seed, float scale) {
        Random rnd = new Random(seed);
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            float v = (float) rnd.nextGaussian() * scale;
            if (rnd.nextInt(97) == 0) {
                v *= 8;
            }
            x[i] = v;
        }
        return x;
    }

    /** A {@code rows x cols} tensor of {@code type} holding {@code values} (row-major), converted as ggml's reference quantizers do. */
    static GgufTensorInfo tensor(String name, GgmlType type, int rows, int cols, float[] values) {
        MemorySegment seg = Arena.ofAuto().allocate(type.byteSize((long) rows * cols), 64);
        for (int r = 0; r < rows; r++) {
            long rowBytes = type.byteSize(cols);
            encodeRow(type, values, r * cols, cols, seg, r * rowBytes);
        }
        return new GgufTensorInfo(name, new long[] {cols, rows}, type, 0, seg);
    }

    static void encodeRow(GgmlType type, float[] x, int xo, int cols, MemorySegment seg, long off) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < cols; i++) {
                    seg.set(F32_LE, off + 4L * i, x[xo + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < cols; i++) {
                    seg.set(I16_LE, off + 2L * i, Float.floatToFloat16(x[xo + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) {
                    seg.set(I16_LE, off + 2L * i, HalfFloats.floatToBf16(x[xo + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    long bo = off + 34L * b;
                    float amax = 0;
                    for (int j = 0; j < 32; j++) {
                        amax = Math.max(amax, Math.abs(x[xo + b * 32 + j]));
                    }
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    seg.set(I16_LE, bo, Float.floatToFloat16(d));
                    for (int j = 0; j < 32; j++) {
                        seg.set(ValueLayout.JAVA_BYTE, bo + 2 + j, (byte) Math.round(x[xo + b * 32 + j] * id));
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    long bo = off + 18L * b;
                    float amax = 0;
                    float max = 0;
                    for (int j = 0; j < 32; j++) {
                        float v = x[xo + b * 32 + j];
                        if (amax < Math.abs(v)) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    seg.set(I16_LE, bo, Float.floatToFloat16(d));
                    for (int j = 0; j < 16; j++) {
                        int q0 = Math.min(15, (byte) (x[xo + b * 32 + j] * id + 8.5f));
                        int q1 = Math.min(15, (byte) (x[xo + b * 32 + 16 + j] * id + 8.5f));
                        seg.set(ValueLayout.JAVA_BYTE, bo + 2 + j, (byte) (q0 | (q1 << 4)));
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
    }

    /**
     * A {@code rows x cols} K-quant tensor of random bytes (every bit pattern is a valid block), with its
     * fp16 super-block scales set to random values in [0.001, 0.02) so that no value is infinite or NaN.
     */
    static GgufTensorInfo randomKQuant(String name, GgmlType type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        long blocks = (long) rows * cols / 256;
        MemorySegment seg = Arena.ofAuto().allocate(blocks * type.blockBytes, 64);
        byte[] bytes = new byte[type.blockBytes];
        long[] halves = switch (type) {
            case Q2_K -> new long[] {80, 82};
            case Q3_K -> new long[] {108};
            case Q4_K, Q5_K -> new long[] {0, 2};
            case Q6_K -> new long[] {208};
            default -> throw new IllegalArgumentException(type.toString());
        };
        for (long b = 0; b < blocks; b++) {
            rnd.nextBytes(bytes);
            long bo = b * type.blockBytes;
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, bo, bytes.length);
            for (long h : halves) {
                seg.set(I16_LE, bo + h, Float.floatToFloat16(0.001f + 0.019f * rnd.nextFloat()));
            }
        }
        return new GgufTensorInfo(name, new long[] {cols, rows}, type, 0, seg);
    }

    /** The exact dot of a dequantized row with the batch's stored input, in double. */
    static double referenceDot(WeightMatrix m, int row, InputBatch in, int v) {
        float[] w = new float[m.cols()];
        m.readRow(row, w, 0);
        double s = 0;
        for (int i = 0; i < m.cols(); i++) {
            double x = in.value(v, i);
            if (in.inputType() == GgmlType.Q8_0) {
                x *= in.q8Scale(v, i / 32);
            } else if (in.inputType() == GgmlType.Q8_K) {
                x *= in.q8Scale(v, i / 256);
            }
            s += w[i] * x;
        }
        return s;
    }

    /** {@code sum |w_i * x_i|}: the scale of a dot product's rounding error. */
    static double magnitude(WeightMatrix m, int row, InputBatch in, int v) {
        float[] w = new float[m.cols()];
        m.readRow(row, w, 0);
        double s = 0;
        for (int i = 0; i < m.cols(); i++) {
            double x = in.value(v, i);
            if (in.inputType() == GgmlType.Q8_0) {
                x *= in.q8Scale(v, i / 32);
            } else if (in.inputType() == GgmlType.Q8_K) {
                x *= in.q8Scale(v, i / 256);
            }
            s += Math.abs(w[i] * x);
        }
        return s;
    }
}
