package dev.baton.kvtransfer.hosttier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import jdk.incubator.vector.LongVector;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused copy + XXH3-64 against the library's XXH3-64 ({@link LongHashFunction#xx3()}), on every
 * path (512-bit and 256-bit vectors where this CPU runs them natively, plain longs everywhere), for
 * lengths in every class of the algorithm: short inputs, one stripe past 240, partial and whole
 * 1 KiB blocks, the last stripe overlapping the previous one, odd lengths and unaligned offsets.
 */
class Xxh3CopyTest {

    private static final LongHashFunction XX3 = LongHashFunction.xx3();
    private static final int[] LENGTHS = {0, 1, 17, 129, 240, 241, 255, 256, 257, 511, 1000, 1023, 1024, 1025,
            1087, 1088, 2047, 2048, 3333, 16384, 65536 + 7, 262144, 2 * 1024 * 1024 + 3};

    @ParameterizedTest
    @ValueSource(ints = {Xxh3Copy.W512, Xxh3Copy.W256, Xxh3Copy.SCALAR})
    void shouldCopyAndHashAsTheLibraryDoesOnEveryPath(int width) {
        if (width > LongVector.SPECIES_PREFERRED.vectorBitSize()) {
            width = Xxh3Copy.SCALAR; // not native here (emulated vectors are correct but slow): plain longs twice
        }
        SplittableRandom random = new SplittableRandom(width);
        try (Arena arena = Arena.ofConfined()) {
            for (int length : LENGTHS) {
                for (int offset : new int[] {0, 3}) {
                    byte[] bytes = new byte[length];
                    random.nextBytes(bytes);
                    MemorySegment from = arena.allocate(length + offset + 8L);
                    MemorySegment.copy(MemorySegment.ofArray(bytes), 0, from, offset, length);
                    MemorySegment to = arena.allocate(length + offset + 8L);
                    to.fill((byte) 0x5A);
                    long expected = XX3.hashBytes(bytes);
                    assertEquals(expected, Xxh3Copy.copyAndHash(width, from, offset, to, offset + 1, length),
                            "copy and hash, " + length + " bytes at offset " + offset);
                    assertEquals(-1, to.asSlice(offset + 1, length).mismatch(from.asSlice(offset, length)),
                            "the copy of " + length + " bytes");
                    assertEquals((byte) 0x5A, to.get(java.lang.foreign.ValueLayout.JAVA_BYTE, offset + 1L + length),
                            "nothing written past the end");
                    assertEquals(expected, Xxh3Copy.copyAndHash(width, from, offset, null, 0, length),
                            "hash only, " + length + " bytes");
                    assertEquals(expected, Xxh3Copy.copyAndHash(width, MemorySegment.ofArray(bytes), 0, null, 0, length),
                            "hash of a heap segment, " + length + " bytes");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {241, 4096, 262144})
    void shouldChangeWhenAnyBitOfTheBlockChanges(int length) {
        SplittableRandom random = new SplittableRandom(length);
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        MemorySegment block = MemorySegment.ofArray(bytes);
        long original = Xxh3Copy.copyAndHash(block, 0, null, 0, length);
        for (int i = 0; i < 64; i++) {
            int at = i < 2 ? (i == 0 ? 0 : length - 1) : random.nextInt(length);
            int bit = 1 << random.nextInt(8);
            bytes[at] ^= (byte) bit;
            assertNotEquals(original, Xxh3Copy.copyAndHash(block, 0, null, 0, length), "bit flipped at byte " + at);
            bytes[at] ^= (byte) bit;
        }
        assertEquals(original, Xxh3Copy.copyAndHash(block, 0, null, 0, length));
    }

    @ParameterizedTest
    @ValueSource(ints = {Xxh3Copy.W512, Xxh3Copy.W256, Xxh3Copy.SCALAR})
    void shouldRefuseRangesOutsideTheSegments(int width) {
        MemorySegment small = MemorySegment.ofArray(new byte[300]);
        MemorySegment large = MemorySegment.ofArray(new byte[600]);
        assertThrows(IndexOutOfBoundsException.class, () -> Xxh3Copy.copyAndHash(width, large, 0, small, 0, 500));
        assertThrows(IndexOutOfBoundsException.class, () -> Xxh3Copy.copyAndHash(width, small, 1, large, 0, 300));
    }
}
