package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared pieces of the Vector API kernels: species, the deterministic lane sum and the fp16/bf16
 * lane conversions. Loaded only when {@link KernelMode#vectorAvailable()}, so that a JVM without
 * {@code jdk.incubator.vector} never links it.
 *
 * <p>Lane count {@code L} is the preferred float species (16 with AVX-512, 8 with AVX2). A 32-value
 * quantization block is {@code CHUNKS = 32/L} float vectors; quantized bytes are loaded 16 at a time
 * and widened {@code L} at a time ({@code PARTS = 16/L} parts per load).
 */
final class VectorKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final int CHUNKS = InputBatch.QK / L;
    static final int PARTS = 16 / L;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final VectorShuffle<Float> SWAP8 = VectorShuffle.fromOp(F, i -> i ^ 8);
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    private static final FloatVector F16_SCALE = FloatVector.broadcast(F, 0x1p112f);

    private VectorKernels() {}

    static WeightMatrix matrix(GgufTensorInfo t) {
        return switch (t.type()) {
            case F32 -> new F32VectorMatrix(t);
            case F16 -> new F16VectorMatrix(t);
            case BF16 -> new Bf16VectorMatrix(t);
            case Q8_0 -> new Q8VectorMatrix(t);
            case Q4_0 -> new Q4VectorMatrix(t);
            default -> throw new AssertionError(t.type());
        };
    }

    /**
     * The sum of the lanes in a fixed pairwise order (lane i with lane i^8, then ^4, ^2, ^1).
     * {@code reduceLanes(ADD)} leaves the order to the implementation, which may differ between the
     * interpreter and compiled code: that would break the determinism contract.
     */
    static float sum(FloatVector v) {
        if (L == 16) {
            v = v.add(v.rearrange(SWAP8));
        }
        v = v.add(v.rearrange(SWAP4));
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

    /**
     * fp16 lanes (as shorts) to floats, exact, with subnormals, infinities and NaNs: the exponent and
     * mantissa move to their float positions and a multiply by 2^112 rebiases the exponent (which also
     * normalizes subnormals); exponent 31 is mapped to 255 instead.
     */
    static FloatVector f16ToFloat(ShortVector h) {
        IntVector s = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector bits = s.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
        FloatVector f = bits.reinterpretAsFloats().mul(F16_SCALE);
        VectorMask<Integer> infNan = s.and(0x7C00).eq(0x7C00);
        IntVector out = f.reinterpretAsInts().blend(bits.or(0x70000000), infNan);
        return out.or(s.and(0x80000000)).reinterpretAsFloats();
    }

    /** bf16 lanes (as shorts) to floats, exact. */
    static FloatVector bf16ToFloat(ShortVector h) {
        IntVector s = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return s.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
