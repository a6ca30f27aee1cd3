package dev.baton.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Conversions between {@code float} values and the byte encodings of the GGUF tensor types F32, F16,
 * BF16, Q8_0 and Q4_0, bit-exact with ggml's reference code ({@code quantize_row_q8_0_ref},
 * {@code quantize_row_q4_0_ref}, {@code dequantize_row_*}, {@code GGML_FP32_TO_FP16},
 * {@code GGML_FP32_TO_BF16}), so a file written here holds the bytes llama.cpp's quantizer would write.
 *
 * <pre>
 *   Q8_0 block (34 bytes, 32 values):  f16 d | i8 q[32]                   x[j] = d * q[j]
 *   Q4_0 block (18 bytes, 32 values):  f16 d | u8 qs[16]                  x[j]      = d * ((qs[j] &amp; 0xF) - 8)
 *                                                                          x[j + 16] = d * ((qs[j] &gt;&gt; 4)  - 8)
 * </pre>
 * All encodings are little-endian. Stateless and thread-safe; this is the model-building path (writer,
 * tests, benchmarks), not the inference kernels.
 */
public final class GgufQuantizer {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QK = 32;

    private GgufQuantizer() {}

    /** Whether {@link #quantize} and {@link #dequantize} handle {@code type}. */
    public static boolean canEncode(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0 -> true;
            default -> false;
        };
    }

    /**
     * Encodes {@code src[srcOffset .. srcOffset + count)} as {@code type} into {@code dst} at
     * {@code dstOffset} ({@code type.byteSize(count)} bytes).
     *
     * @throws IllegalArgumentException if {@code type} cannot be encoded or {@code count} is not a
     *                                  multiple of its block size
     */
    public static void quantize(GgmlType type, float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        checkCount(type, count);
        Objects.checkFromIndexSize(srcOffset, count, src.length);
        Objects.checkFromIndexSize(dstOffset, type.byteSize(count), dst.byteSize());
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOffset, dst, F32, dstOffset, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.set(U16, dstOffset + 2L * i, fp32ToFp16(src[srcOffset + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst.set(U16, dstOffset + 2L * i, fp32ToBf16(src[srcOffset + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < count / QK; b++) {
                    quantizeBlockQ8_0(src, srcOffset + b * QK, dst, dstOffset + (long) b * GgmlType.Q8_0.blockBytes);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < count / QK; b++) {
                    quantizeBlockQ4_0(src, srcOffset + b * QK, dst, dstOffset + (long) b * GgmlType.Q4_0.blockBytes);
                }
            }
            default -> throw cannotEncode(type);
        }
    }

    /** Encodes the whole of {@code src} as {@code type} into a new array. */
    public static byte[] quantize(GgmlType type, float[] src) {
        checkCount(type, src.length);
        byte[] out = new byte[Math.toIntExact(type.byteSize(src.length))];
        quantize(type, src, 0, src.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    /**
     * Decodes {@code count} values of {@code type} from {@code src} at {@code srcOffset} into
     * {@code dst[dstOffset ..)}.
     */
    public static void dequantize(GgmlType type, MemorySegment src, long srcOffset, float[] dst, int dstOffset, int count) {
        checkCount(type, count);
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        Objects.checkFromIndexSize(srcOffset, type.byteSize(count), src.byteSize());
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, srcOffset, dst, dstOffset, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = Float.float16ToFloat(src.get(U16, srcOffset + 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = bf16ToFp32(src.get(U16, srcOffset + 2L * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < count / QK; b++) {
                    long at = srcOffset + (long) b * GgmlType.Q8_0.blockBytes;
                    float d = Float.float16ToFloat(src.get(U16, at));
                    for (int j = 0; j < QK; j++) {
                        dst[dstOffset + b * QK + j] = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < count / QK; b++) {
                    long at = srcOffset + (long) b * GgmlType.Q4_0.blockBytes;
                    float d = Float.float16ToFloat(src.get(U16, at));
                    int base = dstOffset + b * QK;
                    for (int j = 0; j < QK / 2; j++) {
                        int q = src.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xff;
                        dst[base + j] = ((q & 0x0f) - 8) * d;
                        dst[base + j + QK / 2] = ((q >>> 4) - 8) * d;
                    }
                }
            }
            default -> throw cannotEncode(type);
        }
    }

    /** Decodes the first {@code count} values of {@code type} in {@code src} into a new array. */
    public static float[] dequantize(GgmlType type, MemorySegment src, int count) {
        float[] out = new float[count];
        dequantize(type, src, 0, out, 0, count);
        return out;
    }

    /** Decodes a whole tensor into a new array (at most {@code Integer.MAX_VALUE - 8} elements). */
    public static float[] dequantize(GgufTensorInfo tensor) {
        long n = tensor.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor '" + tensor.name() + "' has " + n + " elements, too many for a float[]");
        }
        float[] out = new float[(int) n];
        dequantize(tensor.type(), tensor.data(), 0, out, 0, (int) n);
        return out;
    }

    /** IEEE half precision, round to nearest even (as F16C and ggml's software path). */
    public static short fp32ToFp16(float f) {
        return Float.floatToFloat16(f);
    }

    public static float fp16ToFp32(short h) {
        return Float.float16ToFloat(h);
    }

    /** bfloat16 as ggml rounds it: to nearest even; NaN stays a quiet NaN. */
    public static short fp32ToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    public static float bf16ToFp32(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    private static void quantizeBlockQ8_0(float[] x, int off, MemorySegment dst, long at) {
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        dst.set(U16, at, fp32ToFp16(d));
        for (int j = 0; j < QK; j++) {
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundf(x[off + j] * id));
        }
    }

    private static void quantizeBlockQ4_0(float[] x, int off, MemorySegment dst, long at) {
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < QK; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        dst.set(U16, at, fp32ToFp16(d));
        for (int j = 0; j < QK / 2; j++) {
            float x0 = x[off + j] * id;
            float x1 = x[off + QK / 2 + j] * id;
            int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
            int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (xi0 | (xi1 << 4)));
        }
    }

    /** C's roundf: half-way cases away from zero (Math.round rounds them up). Exact in double. */
    static float roundf(float x) {
        return (float) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }

    private static void checkCount(GgmlType type, long count) {
        if (!canEncode(type)) {
            throw cannotEncode(type);
        }
        if (count < 0 || count % type.blockSize != 0) {
            throw new IllegalArgumentException(count + " values do not fill whole " + type + " blocks of " + type.blockSize);
        }
    }

    private static IllegalArgumentException cannotEncode(GgmlType type) {
        return new IllegalArgumentException("cannot encode tensor type " + type + " (supported: F32, F16, BF16, Q8_0, Q4_0)");
    }
}
