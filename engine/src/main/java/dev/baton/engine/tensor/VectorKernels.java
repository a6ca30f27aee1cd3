package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
    private static final VectorOperators.Conversion<Byte, Float> B2F = VectorOperators.B2F;

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

    // Every helper below that takes or returns a vector is kept under 35 bytes of bytecode (C2's
    // MaxInlineSize): C2 then inlines it even at a call site its profile calls cold. A helper left
    // out of line boxes its vectors, which allocates and runs a thousand times slower.

    /**
     * The sum of the lanes in a fixed pairwise order (lane i with lane i^8, then ^4, ^2, ^1).
     * {@code reduceLanes(ADD)} leaves the order to the implementation, which may differ between the
     * interpreter and compiled code: that would break the determinism contract.
     */
    static float sum(FloatVector v) {
        return sumOf8(L == 16 ? fold(v, SWAP8) : v);
    }

    /** The sum of lanes 0..7 of {@code v} (all lanes with AVX2), pairwise. */
    private static float sumOf8(FloatVector v) {
        return fold(fold(fold(v, SWAP4), SWAP2), SWAP1).lane(0);
    }

    private static FloatVector fold(FloatVector v, VectorShuffle<Float> swap) {
        return v.add(v.rearrange(swap));
    }

    /**
     * fp16 lanes (as shorts) to floats, exact, with subnormals, infinities and NaNs: the exponent and
     * mantissa move to their float positions and a multiply by 2^112 rebiases the exponent (which also
     * normalizes subnormals); exponent 31 is mapped to 255 instead.
     */
    static FloatVector f16ToFloat(ShortVector h) {
        IntVector s = widen(h);
        IntVector bits = f16Bits(s);
        return f16Special(s, bits, f16Rebias(bits)).or(s.and(0x80000000)).reinterpretAsFloats();
    }

    /** Sign-extends short lanes to int lanes. */
    private static IntVector widen(ShortVector h) {
        return (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
    }

    private static IntVector f16Bits(IntVector s) {
        return s.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);
    }

    private static IntVector f16Rebias(IntVector bits) {
        return bits.reinterpretAsFloats().mul(F16_SCALE).reinterpretAsInts();
    }

    private static IntVector f16Special(IntVector s, IntVector bits, IntVector rebiased) {
        return rebiased.blend(bits.or(0x70000000), s.and(0x7C00).eq(0x7C00));
    }

    /** bf16 lanes (as shorts) to floats, exact. */
    static FloatVector bf16ToFloat(ShortVector h) {
        return widen(h).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Bytes {@code [offset, offset+16)} of {@code w}, part {@code part} of them widened to float lanes. */
    static FloatVector bytesToFloats(MemorySegment w, long offset, int part) {
        return (FloatVector) ByteVector.fromMemorySegment(B16, w, offset, LE).convertShape(B2F, F, part);
    }

    /** Part {@code part} of byte lanes widened to float lanes. */
    static FloatVector bytesToFloats(ByteVector b, int part) {
        return (FloatVector) b.convertShape(B2F, F, part);
    }
}
