package dev.baton.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Known answers for the block hash. The pinned values were computed independently with the xxHash
 * reference implementation (python-xxhash 3.x, {@code xxh3_128}) from the byte layout in
 * {@link BlockHasher}'s Javadoc; if one of them changes, every deployed prefix cache is invalidated
 * and {@link BlockHasher#SCHEME_VERSION} must be bumped.
 */
class BlockHasherTest {

    private static final ModelFingerprint FP = new ModelFingerprint(0x0123456789abcdefL, 0xfedcba9876543210L);
    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    @Test
    void shouldMatchTheXxHashReferenceForTheEmptyInput() {
        long[] loHi = new long[2];
        Xxh3.hash(new byte[0], 0, 0, loHi);
        assertEquals("99aa06d3014798d86001c324468d497f", new BlockHash(loHi[1], loHi[0]).toString());
    }

    @Test
    void shouldPinTheRootForAFingerprintAndSalt() {
        assertEquals(BlockHash.parse("a20471f347f72bf3b80b2856c84d9b06"), new BlockHasher(FP, "tenant-a", 4).root());
        assertEquals(BlockHash.parse("4719a9a00fb796c76d5b3d67ff1d7f0e"), new BlockHasher(FP, "", 4).root());
    }

    @Test
    void shouldPinTheChainOfFullBlocks() {
        BlockHash[] hashes = new BlockHasher(FP, "tenant-a", 4).hashFullBlocks(TOKENS, TOKENS.length);
        assertArrayEquals(new BlockHash[] {
            BlockHash.parse("d9c29cb0da7397da94a3d2dd1c348fba"),
            BlockHash.parse("5cb8f404ab290f5075410acfa5946e57")}, hashes);
    }

    @Test
    void shouldHashTokensAsLittleEndianInt32IncludingNegativeAndLargeIds() {
        BlockHasher hasher = new BlockHasher(FP, "", 4);
        int[] tokens = {128000, -1, 0, Integer.MAX_VALUE};
        assertEquals(BlockHash.parse("dbc39b4b450a20f8843f1669e1b238bc"), hasher.next(hasher.root(), tokens, 0));
    }

    @Test
    void shouldGiveTheSameChainThroughNextAsThroughHashFullBlocks() {
        BlockHasher hasher = new BlockHasher(FP, "tenant-a", 4);
        int[] shifted = {99, 1, 2, 3, 4, 5, 6, 7, 8};
        BlockHash first = hasher.next(hasher.root(), shifted, 1);
        BlockHash second = hasher.next(first, shifted, 5);
        assertArrayEquals(new BlockHash[] {first, second}, hasher.hashFullBlocks(TOKENS, 8));
    }

    @Test
    void shouldNotHashAPartialBlock() {
        BlockHasher hasher = new BlockHasher(FP, "tenant-a", 4);
        assertEquals(2, hasher.hashFullBlocks(TOKENS, 10).length);
        assertEquals(2, hasher.hashFullBlocks(TOKENS, 8).length);
        assertEquals(1, hasher.hashFullBlocks(TOKENS, 7).length);
        assertEquals(0, hasher.hashFullBlocks(TOKENS, 3).length);
        assertThrows(IndexOutOfBoundsException.class, () -> hasher.next(hasher.root(), TOKENS, 7));
    }

    @Test
    void shouldChangeEveryLaterHashWhenOneTokenChanges() {
        BlockHasher hasher = new BlockHasher(FP, "tenant-a", 4);
        int[] changed = TOKENS.clone();
        changed[2] = 33;
        BlockHash[] a = hasher.hashFullBlocks(TOKENS, 8);
        BlockHash[] b = hasher.hashFullBlocks(changed, 8);
        assertNotEquals(a[0], b[0]);
        assertNotEquals(a[1], b[1]);
    }

    @Test
    void shouldKeepEarlierHashesWhenALaterTokenChanges() {
        BlockHasher hasher = new BlockHasher(FP, "tenant-a", 4);
        int[] changed = TOKENS.clone();
        changed[6] = 33;
        BlockHash[] a = hasher.hashFullBlocks(TOKENS, 8);
        BlockHash[] b = hasher.hashFullBlocks(changed, 8);
        assertEquals(a[0], b[0]);
        assertNotEquals(a[1], b[1]);
    }

    @Test
    void shouldChangeWithTheSalt() {
        assertNotEquals(new BlockHasher(FP, "tenant-a", 4).hashFullBlocks(TOKENS, 4)[0],
                new BlockHasher(FP, "tenant-b", 4).hashFullBlocks(TOKENS, 4)[0]);
    }

    @Test
    void shouldGiveARequestsSaltTheRootAHasherWithThatSaltHas() {
        BlockHasher shared = new BlockHasher(FP, "", 4);
        BlockHasher tenant = new BlockHasher(FP, "tenant-a", 4);
        assertEquals(tenant.root(), shared.root("tenant-a"));
        assertEquals(shared.root(), shared.root(""));
        assertEquals(shared.root(), tenant.root(""));
        assertArrayEquals(tenant.hashFullBlocks(TOKENS, 8), shared.hashFullBlocks(shared.root("tenant-a"), TOKENS, 8));
        assertNotEquals(shared.hashFullBlocks(TOKENS, 8)[1], shared.hashFullBlocks(shared.root("tenant-a"), TOKENS, 8)[1]);
    }

    @Test
    void shouldChangeWithTheFingerprint() {
        ModelFingerprint other = new ModelFingerprint(FP.hi(), FP.lo() ^ 1);
        assertNotEquals(new BlockHasher(FP, "", 4).hashFullBlocks(TOKENS, 4)[0],
                new BlockHasher(other, "", 4).hashFullBlocks(TOKENS, 4)[0]);
    }

    @Test
    void shouldChangeWithTheSchemeVersion() {
        assertNotEquals(new BlockHasher(BlockHasher.SCHEME_VERSION, FP, "", 4).root(),
                new BlockHasher(BlockHasher.SCHEME_VERSION + 1, FP, "", 4).root());
    }

    @Test
    void shouldRejectABlockSizeBelowOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BlockHasher(FP, "", 0));
        assertEquals("blockSize must be 1.." + (Integer.MAX_VALUE - 16) / 4 + ", got 0", e.getMessage());
    }
}
