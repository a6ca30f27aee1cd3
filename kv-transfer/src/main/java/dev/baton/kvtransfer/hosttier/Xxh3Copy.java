package dev.baton.kvtransfer.hosttier;

import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import net.openhft.hashing.LongHashFunction;

/**
 * Copies bytes and computes their XXH3-64 (seed 0, the default secret) in one pass: every 64-byte
 * stripe is loaded once, stored to the destination and folded into the hash from the same registers.
 * Values are exactly those of {@link LongHashFunction#xx3()} (the tests compare them for every length
 * class and every code path).
 *
 * <p>Why not copy, then CRC32C: a host tier put or get is bound by memory bandwidth, and a separate
 * checksum pass (even over bytes still in L1, at 60 GB/s) adds its time to every copy; XXH3's
 * arithmetic runs under the loads' latency, so the fused loop moves blocks out of memory at the speed
 * of a plain copy. XXH3 is a 64-bit hash with full avalanche, so a damaged block goes unnoticed with
 * probability about 2^-64 (CRC32C: 2^-32), though without CRC's guarantee for short bursts, which
 * matters on a wire and not in shared memory.
 *
 * <p>Inputs of more than 240 bytes (every real KV block) take the fused long-input path with 512-bit
 * or 256-bit vectors (the widest this CPU runs natively) or plain longs; up to 240 bytes the bytes are
 * copied and then hashed by the library (allocating a buffer view). Stateless and thread-safe.
 * {@code BlockChecksumBenchmark} (JMH, in {@code bench}) compares it with a copy and with CRC32C.
 */
public final class Xxh3Copy {

    /** Fused path widths: 512-bit vectors, 256-bit vectors, plain longs. */
    static final int W512 = 512;
    static final int W256 = 256;
    static final int SCALAR = 64;
    /** The width this CPU runs natively. */
    static final int WIDTH = width(LongVector.SPECIES_PREFERRED.vectorBitSize());

    /** Longest input hashed by XXH3's short paths rather than the striped long-input loop. */
    static final int MIDSIZE_MAX = 240;

    private static final LongHashFunction XX3 = LongHashFunction.xx3();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    private static final int STRIPE = 64;
    private static final int STRIPES_PER_BLOCK = 16; // (secret 192 - stripe 64) / 8 bytes consumed per stripe
    private static final int BLOCK = STRIPE * STRIPES_PER_BLOCK;

    private static final long P32_1 = 0x9E3779B1L;
    private static final long P32_2 = 0x85EBCA77L;
    private static final long P32_3 = 0xC2B2AE3DL;
    private static final long P64_1 = 0x9E3779B185EBCA87L;
    private static final long P64_2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P64_3 = 0x165667B19E3779F9L;
    private static final long P64_4 = 0x85EBCA77C2B2AE63L;
    private static final long P64_5 = 0x27D4EB2F165667C5L;

    /** XXH3's default secret (kSecret of the reference implementation). */
    private static final byte[] SECRET = bytes(
            0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
            0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
            0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
            0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
            0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
            0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
            0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
            0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
            0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
            0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
            0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
            0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e);

    /**
     * The secret as the eight lanes each step reads: stripe {@code s} of a block at {@code [8s, 8s+8)}
     * (secret bytes {@code 8s..8s+63}), the scramble at {@code [SCRAMBLE, +8)} (bytes 128..191), the
     * input's last stripe at {@code [LAST, +8)} (bytes 121..184), the initial accumulators at {@code [INIT, +8)}.
     */
    private static final long[] KEYS = new long[160];
    private static final int SCRAMBLE = 128;
    private static final int LAST = 136;
    private static final int INIT = 144;
    /** Merge keys: secret bytes 11..74 as eight longs. */
    private static final long[] MERGE = new long[8];

    static {
        for (int s = 0; s < STRIPES_PER_BLOCK; s++) {
            for (int i = 0; i < 8; i++) {
                KEYS[8 * s + i] = secretLong(8 * s + 8 * i);
            }
        }
        long[] init = {P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1};
        for (int i = 0; i < 8; i++) {
            KEYS[SCRAMBLE + i] = secretLong(128 + 8 * i);
            KEYS[LAST + i] = secretLong(121 + 8 * i);
            KEYS[INIT + i] = init[i];
            MERGE[i] = secretLong(11 + 8 * i);
        }
    }

    private static final VectorSpecies<Long> S512 = LongVector.SPECIES_512;
    private static final VectorSpecies<Long> S256 = LongVector.SPECIES_256;
    /** XXH3 adds each lane's data into its neighbour's accumulator (lane i into i ^ 1). */
    private static final VectorShuffle<Long> SWAP512 = VectorShuffle.fromValues(S512, 1, 0, 3, 2, 5, 4, 7, 6);
    private static final VectorShuffle<Long> SWAP256 = VectorShuffle.fromValues(S256, 1, 0, 3, 2);

    private Xxh3Copy() {}

    /**
     * Copies {@code length} bytes from {@code from} at {@code fromOffset} to {@code to} at
     * {@code toOffset} (when {@code to} is not null; the ranges must not overlap) and returns their
     * XXH3-64. With {@code to} null it only hashes.
     */
    public static long copyAndHash(MemorySegment from, long fromOffset, MemorySegment to, long toOffset, long length) {
        return copyAndHash(WIDTH, from, fromOffset, to, toOffset, length);
    }

    /** As {@link #copyAndHash(MemorySegment, long, MemorySegment, long, long)} on the path {@code width}; for tests. */
    static long copyAndHash(int width, MemorySegment from, long fromOffset, MemorySegment to, long toOffset,
            long length) {
        java.util.Objects.checkFromIndexSize(fromOffset, length, from.byteSize());
        if (to != null) {
            java.util.Objects.checkFromIndexSize(toOffset, length, to.byteSize());
        }
        if (length <= MIDSIZE_MAX) {
            if (to != null) {
                MemorySegment.copy(from, fromOffset, to, toOffset, length);
            }
            return XX3.hashBytes(from.asSlice(fromOffset, length).asByteBuffer());
        }
        return switch (width) {
            case W512 -> long512(from, fromOffset, to, toOffset, length);
            case W256 -> long256(from, fromOffset, to, toOffset, length);
            default -> longScalar(from, fromOffset, to, toOffset, length);
        };
    }

    // ---- 512-bit vectors: one stripe per vector ------------------------------------------------
    //
    // Within a block of 16 stripes XXH3 adds, per stripe, the lane-swapped data and a product to the
    // accumulators; wrapping additions commute and the swap is linear, so the loop keeps the data sum
    // and the product sum in two registers and folds them in once per block, with the same result:
    // two short dependency chains instead of one long one (about 1.5x the speed from cache).

    private static long long512(MemorySegment from, long f, MemorySegment to, long t, long length) {
        LongVector acc = LongVector.fromArray(S512, KEYS, INIT);
        long blocks = (length - 1) / BLOCK;
        for (long b = 0; b < blocks; b++) {
            long at = b * BLOCK;
            LongVector data = LongVector.zero(S512);
            LongVector products = LongVector.zero(S512);
            for (int s = 0; s < STRIPES_PER_BLOCK; s++) {
                LongVector d = LongVector.fromMemorySegment(S512, from, f + at + s * STRIPE, LE);
                if (to != null) {
                    d.intoMemorySegment(to, t + at + s * STRIPE, LE);
                }
                LongVector dk = d.lanewise(XOR, LongVector.fromArray(S512, KEYS, 8 * s));
                data = data.add(d);
                products = products.add(dk.and(0xFFFF_FFFFL).mul(dk.lanewise(LSHR, 32)));
            }
            acc = scramble(S512, acc.add(data.rearrange(SWAP512)).add(products), SCRAMBLE);
        }
        long at = blocks * BLOCK;
        int stripes = (int) ((length - 1 - at) / STRIPE);
        for (int s = 0; s < stripes; s++) {
            acc = stripe(S512, SWAP512, acc, from, f + at + s * STRIPE, to, t + at + s * STRIPE, 8 * s);
        }
        acc = stripe(S512, SWAP512, acc, from, f + length - STRIPE, to, t + length - STRIPE, LAST);
        return merge(length, acc.lane(0), acc.lane(1), acc.lane(2), acc.lane(3), acc.lane(4), acc.lane(5),
                acc.lane(6), acc.lane(7));
    }

    /**
     * One stripe (or, with 256-bit vectors, half of one) into {@code acc} the way XXH3 accumulates it:
     * the lane-swapped data plus the product of the halves of data XOR key. Inlined with a constant
     * species, as every caller passes one.
     */
    private static LongVector stripe(VectorSpecies<Long> species, VectorShuffle<Long> swap, LongVector acc,
            MemorySegment from, long f, MemorySegment to, long t, int key) {
        LongVector data = LongVector.fromMemorySegment(species, from, f, LE);
        if (to != null) {
            data.intoMemorySegment(to, t, LE);
        }
        LongVector dk = data.lanewise(XOR, LongVector.fromArray(species, KEYS, key));
        return acc.add(data.rearrange(swap)).add(dk.and(0xFFFF_FFFFL).mul(dk.lanewise(LSHR, 32)));
    }

    /** XXH3's scramble of the accumulators after each block. */
    private static LongVector scramble(VectorSpecies<Long> species, LongVector acc, int key) {
        return acc.lanewise(XOR, acc.lanewise(LSHR, 47)).lanewise(XOR, LongVector.fromArray(species, KEYS, key)).mul(P32_1);
    }

    // ---- 256-bit vectors: two per stripe (lanes 0-3 and 4-7), block loop as above ----------------

    private static long long256(MemorySegment from, long f, MemorySegment to, long t, long length) {
        LongVector lo = LongVector.fromArray(S256, KEYS, INIT);
        LongVector hi = LongVector.fromArray(S256, KEYS, INIT + 4);
        long blocks = (length - 1) / BLOCK;
        for (long b = 0; b < blocks; b++) {
            long at = b * BLOCK;
            LongVector dataLo = LongVector.zero(S256);
            LongVector dataHi = LongVector.zero(S256);
            LongVector productsLo = LongVector.zero(S256);
            LongVector productsHi = LongVector.zero(S256);
            for (int s = 0; s < STRIPES_PER_BLOCK; s++) {
                long o = at + s * STRIPE;
                LongVector dl = LongVector.fromMemorySegment(S256, from, f + o, LE);
                LongVector dh = LongVector.fromMemorySegment(S256, from, f + o + 32, LE);
                if (to != null) {
                    dl.intoMemorySegment(to, t + o, LE);
                    dh.intoMemorySegment(to, t + o + 32, LE);
                }
                LongVector kl = dl.lanewise(XOR, LongVector.fromArray(S256, KEYS, 8 * s));
                LongVector kh = dh.lanewise(XOR, LongVector.fromArray(S256, KEYS, 8 * s + 4));
                dataLo = dataLo.add(dl);
                dataHi = dataHi.add(dh);
                productsLo = productsLo.add(kl.and(0xFFFF_FFFFL).mul(kl.lanewise(LSHR, 32)));
                productsHi = productsHi.add(kh.and(0xFFFF_FFFFL).mul(kh.lanewise(LSHR, 32)));
            }
            lo = scramble(S256, lo.add(dataLo.rearrange(SWAP256)).add(productsLo), SCRAMBLE);
            hi = scramble(S256, hi.add(dataHi.rearrange(SWAP256)).add(productsHi), SCRAMBLE + 4);
        }
        long at = blocks * BLOCK;
        int stripes = (int) ((length - 1 - at) / STRIPE);
        for (int s = 0; s < stripes; s++) {
            long o = at + s * STRIPE;
            lo = stripe(S256, SWAP256, lo, from, f + o, to, t + o, 8 * s);
            hi = stripe(S256, SWAP256, hi, from, f + o + 32, to, t + o + 32, 8 * s + 4);
        }
        long o = length - STRIPE;
        lo = stripe(S256, SWAP256, lo, from, f + o, to, t + o, LAST);
        hi = stripe(S256, SWAP256, hi, from, f + o + 32, to, t + o + 32, LAST + 4);
        return merge(length, lo.lane(0), lo.lane(1), lo.lane(2), lo.lane(3), hi.lane(0), hi.lane(1), hi.lane(2),
                hi.lane(3));
    }

    // ---- plain longs -----------------------------------------------------------------------------

    private static long longScalar(MemorySegment from, long f, MemorySegment to, long t, long length) {
        long[] acc = new long[8]; // one per call on the fallback path (CPUs without 256-bit vectors)
        System.arraycopy(KEYS, INIT, acc, 0, 8);
        long blocks = (length - 1) / BLOCK;
        for (long b = 0; b < blocks; b++) {
            long at = b * BLOCK;
            for (int s = 0; s < STRIPES_PER_BLOCK; s++) {
                stripeScalar(acc, from, f + at + s * STRIPE, to, t + at + s * STRIPE, 8 * s);
            }
            for (int i = 0; i < 8; i++) {
                long a = acc[i];
                acc[i] = (a ^ (a >>> 47) ^ KEYS[SCRAMBLE + i]) * P32_1;
            }
        }
        long at = blocks * BLOCK;
        int stripes = (int) ((length - 1 - at) / STRIPE);
        for (int s = 0; s < stripes; s++) {
            stripeScalar(acc, from, f + at + s * STRIPE, to, t + at + s * STRIPE, 8 * s);
        }
        stripeScalar(acc, from, f + length - STRIPE, to, t + length - STRIPE, LAST);
        return merge(length, acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]);
    }

    private static void stripeScalar(long[] acc, MemorySegment from, long f, MemorySegment to, long t, int key) {
        for (int i = 0; i < 8; i++) {
            long data = from.get(I64, f + 8L * i);
            if (to != null) {
                to.set(I64, t + 8L * i, data);
            }
            long dk = data ^ KEYS[key + i];
            acc[i ^ 1] += data;
            acc[i] += (dk & 0xFFFF_FFFFL) * (dk >>> 32);
        }
    }

    // ---- merge -----------------------------------------------------------------------------------

    private static long merge(long length, long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7) {
        long r = length * P64_1;
        r += fold(a0 ^ MERGE[0], a1 ^ MERGE[1]);
        r += fold(a2 ^ MERGE[2], a3 ^ MERGE[3]);
        r += fold(a4 ^ MERGE[4], a5 ^ MERGE[5]);
        r += fold(a6 ^ MERGE[6], a7 ^ MERGE[7]);
        r ^= r >>> 37;
        r *= 0x165667919E3779F9L;
        return r ^ (r >>> 32);
    }

    private static long fold(long a, long b) {
        return a * b ^ Math.unsignedMultiplyHigh(a, b);
    }

    private static long secretLong(int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (SECRET[at + i] & 0xFF);
        }
        return v;
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private static int width(int preferredBits) {
        return preferredBits >= W512 ? W512 : preferredBits >= W256 ? W256 : SCALAR;
    }
}
