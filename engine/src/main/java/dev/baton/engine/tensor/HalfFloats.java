package dev.baton.engine.tensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Bit-exact fp16 and bf16 conversions as ggml does them, and the little-endian layouts of tensor data. */
final class HalfFloats {

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HalfFloats() {}

    /** fp16 bits to float, exact (ggml's GGML_FP16_TO_FP32). */
    static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** float to fp16 bits, round to nearest even (ggml's GGML_FP32_TO_FP16 with F16C). */
    static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    /** bf16 bits to float, exact. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** float to bf16 bits, round to nearest even, NaN kept quiet (ggml_compute_fp32_to_bf16). */
    static short floatToBf16(float f) {
        int i = Float.floatToRawIntBits(f);
        if ((i & 0x7fffffff) > 0x7f800000) {
            return (short) ((i >>> 16) | 64);
        }
        return (short) ((i + (0x7fff + ((i >>> 16) & 1))) >>> 16);
    }
}
