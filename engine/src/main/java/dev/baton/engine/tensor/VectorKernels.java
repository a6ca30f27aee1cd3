package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Shared pieces of the Vector API kernels: species, constants and the deterministic lane sum.
 * Loaded only when {@link KernelMode#vectorAvailable()}, so that a JVM without
 * {@code jdk.incubator.vector} never links it.
 *
 * <p>Lane count {@code L} is the preferred float species (16 with AVX-512, 8 with AVX2). A 32-value
 * quantization block is {@code CHUNKS = 32/L} float vectors.
 *
 * <p><b>How the kernels are written</b>, and why. C2 compiles a Vector API kernel into plain SIMD
 * code only if every vector stays inside one compiled method: a vector passed to, or returned from,
 * a call that is not inlined is boxed (allocated), which runs a thousand times slower. C2 stops
 * inlining ordinary methods once a method's IR passes a node budget, and vector code is IR-heavy;
 * only the JDK's own {@code @ForceInline} methods are still inlined past it. So a tile method
 * calls no helper of ours with a vector argument or result: conversions are written out in place,
 * and the final lane sums go through {@link #sumLanes}, which takes the accumulators as floats
 * stored in a per-thread scratch array. One reduction routine for every tile also makes the
 * reduction order identical by construction. The Q8_0 tiles, with 16 lanes, instead sum all their
 * accumulators at once in registers with {@link #HI8} ... {@link #HI1} and the {@code SWAP}
 * shuffles; the generator emits that network only after checking, symbolically, that it performs
 * exactly sumLanes' additions.
 */
final class VectorKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts, {@code L} lanes: fp16/bf16 weights and KV entries. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    /** 16 bytes: a Q4_0 block's packed nibbles. */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** 32 bytes: a K-quant sub-block's packed values. */
    static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    /** Float vectors per 32-value block. */
    static final int CHUNKS = InputBatch.QK / L;
    /**
     * 8 floats, 8 ints: the Q8_0 kernels' fixed width (llama.cpp's 256-bit arithmetic), whatever
     * {@code L} is. 256-bit vectors run natively on AVX2 and AVX-512 machines alike.
     */
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** fp16 to float: the exponent rebias 2^(127-15) (see the F16 kernels). */
    static final FloatVector F16_REBIAS = FloatVector.broadcast(F, 0x1p112f);

    static final VectorShuffle<Float> SWAP8 = VectorShuffle.fromOp(F, i -> i ^ (8 % L));
    static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    /** The lanes whose index has bit 8 (4, 2, 1) set: with {@code SWAPn}, the generated multi-row lane sums. */
    static final VectorMask<Float> HI8 = VectorMask.fromLong(F, 0xFF00L & ((1L << L) - 1));
    static final VectorMask<Float> HI4 = VectorMask.fromLong(F, 0xF0F0L & ((1L << L) - 1));
    static final VectorMask<Float> HI2 = VectorMask.fromLong(F, 0xCCCCL & ((1L << L) - 1));
    static final VectorMask<Float> HI1 = VectorMask.fromLong(F, 0xAAAAL & ((1L << L) - 1));

    /** {@link #F8}'s lane sums: the lanes with index bit 4 (2, 1) set, and the lane swaps. */
    static final VectorMask<Float> HI4_8 = VectorMask.fromLong(F8, 0xF0L);
    static final VectorMask<Float> HI2_8 = VectorMask.fromLong(F8, 0xCCL);
    static final VectorMask<Float> HI1_8 = VectorMask.fromLong(F8, 0xAAL);
    static final VectorShuffle<Float> SWAP4_8 = VectorShuffle.fromOp(F8, i -> i ^ 4);
    static final VectorShuffle<Float> SWAP2_8 = VectorShuffle.fromOp(F8, i -> i ^ 2);
    static final VectorShuffle<Float> SWAP1_8 = VectorShuffle.fromOp(F8, i -> i ^ 1);

    /** A Q4_0 block's 4 ints of packed nibbles, repeated over the {@code L} int lanes. */
    static final VectorShuffle<Integer> REP4 = VectorShuffle.fromOp(I, i -> i % 4);
    /** Q4_0, chunk {@code c}: the right shift that brings down lane l's nibble (see Q4VectorMatrix). */
    static final IntVector NIB0 = nibbleShifts(0);
    static final IntVector NIB1 = nibbleShifts(1);
    static final IntVector NIB2 = nibbleShifts(2 % CHUNKS);
    static final IntVector NIB3 = nibbleShifts(3 % CHUNKS);

    /** Accumulators of up to 16 (row, vector) elements on their way to {@link #sumLanes}. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[16 * 16]);

    private VectorKernels() {}

    static WeightMatrix matrix(GgufTensorInfo t) {
        return switch (t.type()) {
            case F32 -> L >= 8 ? new F32InterleavedMatrix(t) : new F32VectorMatrix(t);
            case F16 -> new F16VectorMatrix(t);
            case BF16 -> new Bf16VectorMatrix(t);
            case Q8_0 -> new Q8VectorMatrix(t);
            case Q4_0 -> L >= 8 ? new Q4InterleavedMatrix(t) : new Q4VectorMatrix(t);
            case Q4_K -> L >= 8 ? new Q4KInterleavedMatrix(t) : new Q4KVectorMatrix(t);
            case Q5_K -> L >= 8 ? new Q5KInterleavedMatrix(t) : new Q5KVectorMatrix(t);
            // no vector kernels narrower than 8 lanes for these: the scalar ones
            case Q2_K -> L >= 8 ? new Q2KInterleavedMatrix(t) : new Q2KMatrix(t);
            case Q3_K -> L >= 8 ? new Q3KInterleavedMatrix(t) : new Q3KMatrix(t);
            case Q6_K -> L >= 8 ? new Q6KInterleavedMatrix(t) : new Q6KVectorMatrix(t);
            default -> throw new AssertionError(t.type());
        };
    }

    /**
     * Lane l of chunk c holds element {@code 4i + t} of a block in the input's group order, where
     * {@code cL + l = 8t + i}; in a Q4_0 block's 16 bytes read as 4 ints (int lane l % 4 = i % 4)
     * that element is byte t's low nibble for {@code i < 4}, its high nibble for {@code i >= 4}.
     */
    private static IntVector nibbleShifts(int c) {
        int[] s = new int[L];
        for (int l = 0; l < L; l++) {
            int pos = c * L + l;
            s[l] = 8 * (pos / 8) + (pos % 8 >= 4 ? 4 : 0);
        }
        return IntVector.fromArray(I, s, 0);
    }

    /** This thread's scratch array for {@link #sumLanes}: room for 16 accumulators. */
    static float[] scratch() {
        return SCRATCH.get();
    }

    /**
     * For {@code k} in {@code [0, count)}: {@code out[o + k*step] = } the sum of the {@code L} lanes
     * {@code tmp[from + k*L ..)}, in a fixed pairwise order (lane i with lane i^8, then ^4, ^2, ^1).
     * {@code reduceLanes(ADD)} leaves the order to the implementation, which may differ between the
     * interpreter and compiled code: that would break the determinism contract.
     */
    static void sumLanes(float[] tmp, int from, int count, float[] out, int o, int step) {
        for (int k = 0; k < count; k++) {
            FloatVector v = FloatVector.fromArray(F, tmp, from + k * L);
            if (L == 16) {
                v = v.add(v.rearrange(SWAP8));
            }
            v = v.add(v.rearrange(SWAP4));
            v = v.add(v.rearrange(SWAP2));
            v = v.add(v.rearrange(SWAP1));
            out[o + k * step] = v.lane(0);
        }
    }
}
