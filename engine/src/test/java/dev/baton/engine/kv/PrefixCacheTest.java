package dev.baton.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.ModelFingerprint;
import dev.baton.engine.EngineException;
import dev.baton.engine.kv.PrefixCache.State;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The node prefix cache of {@link KvBlockPool}: publish, match, claims, eviction order, counters. */
class PrefixCacheTest {

    static final KvCacheSpec SPEC = KvBlockPoolTest.SPEC;
    static final BlockHasher HASHER = new BlockHasher(new ModelFingerprint(0x1234L, 0x5678L), "", SPEC.blockSize());

    /** The hash chain of {@code blocks} full blocks of random tokens. */
    static BlockHash[] chain(long seed, int blocks) {
        int[] tokens = new SplittableRandom(seed).ints(blocks * SPEC.blockSize(), 0, 32000).toArray();
        return HASHER.hashFullBlocks(tokens, tokens.length);
    }

    /** Allocates one block per hash and publishes it at its depth; the caller holds every block. */
    static int[] publishChain(KvBlockPool pool, BlockHash[] hashes) {
        int[] blocks = new int[hashes.length];
        for (int i = 0; i < hashes.length; i++) {
            blocks[i] = pool.allocate();
            assertTrue(pool.publish(blocks[i], hashes[i], i));
        }
        return blocks;
    }

    /** Allocates every block the pool can hand out, in order (evicting cached ones), and keeps them. */
    static List<Integer> drain(KvBlockPool pool) {
        List<Integer> order = new ArrayList<>();
        for (int b = pool.allocate(); b != KvBlockPool.NO_BLOCK; b = pool.allocate()) {
            order.add(b);
        }
        return order;
    }

    static void assertCounts(KvBlockPool pool, int empty, int evictable, int used) {
        assertEquals(empty, pool.emptyBlockCount(), "empty blocks");
        assertEquals(evictable, pool.evictableBlockCount(), "evictable blocks");
        assertEquals(used, pool.usedBlockCount(), "used blocks");
        assertEquals(empty + evictable, pool.freeBlockCount(), "free = empty + evictable");
        assertEquals(pool.blockCount(), empty + evictable + used, "every block is in one group");
    }

    @Test
    void shouldMatchPublishedBlocksAndTakeAReferenceOnEach() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 8)) {
            BlockHash[] h = chain(1, 3);
            int[] blocks = publishChain(pool, new BlockHash[] {h[0], h[1]});
            int[] out = new int[3];
            boolean[] ready = new boolean[3];
            assertEquals(2, pool.match(h, 3, out, ready));
            assertArrayEquals(new int[] {blocks[0], blocks[1]}, new int[] {out[0], out[1]});
            assertTrue(ready[0] && ready[1]);
            assertEquals(2, pool.refCount(blocks[0]));
            assertEquals(2, pool.refCount(blocks[1]));
            assertEquals(State.READY, pool.blockState(blocks[0]));
            assertEquals(h[1], pool.prefixCache().hashOf(blocks[1]));
        }
    }

    @Test
    void shouldStopMatchingAtTheFirstMiss() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 8)) {
            BlockHash[] h = chain(2, 3);
            int first = publishChain(pool, new BlockHash[] {h[0]})[0];
            int third = pool.allocate();
            assertTrue(pool.publish(third, h[2], 2));
            int[] out = new int[3];
            assertEquals(1, pool.match(h, 3, out, new boolean[3]));
            assertEquals(first, out[0]);
            assertEquals(1, pool.refCount(third), "a block after the miss must not be referenced");
            assertEquals(0, pool.match(chain(3, 2), 2, out, new boolean[3]));
        }
    }

    @Test
    void shouldMatchOnlyAsManyHashesAsAskedFor() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 8)) {
            BlockHash[] h = chain(4, 3);
            int[] blocks = publishChain(pool, h);
            assertEquals(2, pool.match(h, 2, new int[2], new boolean[2]));
            assertEquals(1, pool.refCount(blocks[2]));
        }
    }

    @Test
    void shouldKeepTheFirstWriterWhenAHashIsPublishedTwice() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash h = chain(5, 1)[0];
            int a = pool.allocate();
            int b = pool.allocate();
            assertTrue(pool.publish(a, h, 0));
            assertFalse(pool.publish(b, h, 0), "a second block for the same hash is refused");
            assertEquals(a, pool.prefixCache().find(h));
            assertEquals(State.UNCACHED, pool.blockState(b));
            assertEquals(1, pool.prefixCache().duplicatePublishes());
            assertTrue(pool.publish(a, h, 0), "publishing the same block again is a no-op");
            assertEquals(1, pool.prefixCache().publishes());
            pool.release(b);
            assertCounts(pool, 3, 0, 1);
        }
    }

    @Test
    void shouldRefuseToPublishACachedBlockUnderAnotherHashOrABlockNotHeld() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash[] h = chain(6, 2);
            int a = pool.allocate();
            pool.publish(a, h[0], 0);
            assertThrows(EngineException.class, () -> pool.publish(a, h[1], 1));
            assertThrows(EngineException.class, () -> pool.publish(a, h[0], 1), "same hash at another depth");
            assertThrows(EngineException.class, () -> pool.publish(3, h[1], 1), "block 3 is not held");
            assertThrows(EngineException.class, () -> pool.publish(pool.allocate(), h[1], -1));
        }
    }

    @Test
    void shouldKeepAReleasedCachedBlockAndMatchItAgain() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 6)) {
            BlockHash[] h = chain(7, 2);
            KvSequence seq = new KvSequence(pool);
            seq.reserve(2 * SPEC.blockSize() + 3);
            pool.publish(seq.blockTable()[0], h[0], 0);
            pool.publish(seq.blockTable()[1], h[1], 1);
            int[] table = seq.blockTable().clone();
            seq.free();
            assertCounts(pool, 4, 2, 0);
            assertEquals(State.READY, pool.blockState(table[0]));
            assertEquals(pool.blockCount(), pool.freeBlockCount(), "cached blocks count as free for admission");

            int[] out = new int[2];
            assertEquals(2, pool.match(h, 2, out, new boolean[2]));
            assertEquals(table[0], out[0]);
            assertEquals(table[1], out[1]);
            assertEquals(1, pool.refCount(out[0]));
            assertCounts(pool, 4, 0, 2);
        }
    }

    @Test
    void shouldTakeEmptyBlocksBeforeEvictingCachedOnes() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash[] h = chain(8, 2);
            int[] cached = publishChain(pool, h);
            pool.releaseAll(cached, 2);
            int x = pool.allocate();
            int y = pool.allocate();
            assertFalse(x == cached[0] || x == cached[1] || y == cached[0] || y == cached[1]);
            assertEquals(cached[0], pool.prefixCache().find(h[0]));
            assertEquals(cached[1], pool.prefixCache().find(h[1]));
            assertEquals(0, pool.prefixCache().evictions());
            assertEquals(cached[1], pool.allocate(), "then the deepest cached block");
            assertEquals(KvBlockPool.NO_BLOCK, pool.prefixCache().find(h[1]), "eviction drops the hash");
            assertEquals(State.UNCACHED, pool.blockState(cached[1]));
            assertEquals(1, pool.prefixCache().evictions());
        }
    }

    @Test
    void shouldEvictTheLeastRecentlyReleasedChainFirst() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            int[] x = publishChain(pool, chain(9, 2));
            int[] y = publishChain(pool, chain(10, 2));
            pool.releaseAll(y, 2);
            pool.releaseAll(x, 2);
            assertEquals(List.of(y[1], y[0], x[1], x[0]), drain(pool));
        }
    }

    @Test
    void shouldMoveAMatchedBlockToTheBackOfTheEvictionOrder() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash[] hx = chain(11, 2);
            int[] x = publishChain(pool, hx);
            int[] y = publishChain(pool, chain(12, 2));
            pool.releaseAll(x, 2);
            pool.releaseAll(y, 2);
            int[] out = new int[1];
            assertEquals(1, pool.match(hx, 1, out, new boolean[1]));
            pool.release(out[0]); // x[0] is now the most recently used
            assertEquals(List.of(x[1], y[1], y[0], x[0]), drain(pool));
        }
    }

    @Test
    void shouldEvictTheDeepestOfEquallyOldBlocksFirstWhateverTheReleaseOrder() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 6)) {
            int[] x = publishChain(pool, chain(13, 3));
            int[] y = publishChain(pool, chain(14, 3));
            // one release call, deliberately in no particular depth order
            pool.releaseAll(new int[] {y[1], x[0], x[2], y[0], x[1], y[2]}, 6);
            List<Integer> order = drain(pool);
            assertEquals(6, order.size());
            assertEquals(Set.of(x[2], y[2]), Set.copyOf(order.subList(0, 2)), "depth 2 first");
            assertEquals(Set.of(x[1], y[1]), Set.copyOf(order.subList(2, 4)), "then depth 1");
            assertEquals(Set.of(x[0], y[0]), Set.copyOf(order.subList(4, 6)), "then depth 0");
        }
    }

    @Test
    void shouldKeepBlocksSharedWithALiveSequenceUntilItEnds() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 5)) {
            BlockHash[] h = chain(15, 3);
            KvSequence first = new KvSequence(pool);
            first.reserve(3 * SPEC.blockSize());
            for (int i = 0; i < 3; i++) {
                pool.publish(first.blockTable()[i], h[i], i);
            }
            int[] shared = new int[2];
            assertEquals(2, pool.match(h, 2, shared, new boolean[2]));
            KvSequence second = new KvSequence(pool);
            second.adoptPrefix(shared, 2);
            second.reserve(2 * SPEC.blockSize() + 1);
            int tail = first.blockTable()[2];
            first.free();
            assertCounts(pool, 1, 1, 3);
            int empty = pool.allocate();
            assertTrue(empty != tail, "the empty block is taken first");
            assertEquals(tail, pool.allocate(), "then the unreferenced cached tail");
            assertEquals(KvBlockPool.NO_BLOCK, pool.allocate(), "blocks the second sequence shares are not evicted");
            assertEquals(shared[0], pool.prefixCache().find(h[0]));
            assertEquals(shared[1], pool.prefixCache().find(h[1]));
            assertEquals(KvBlockPool.NO_BLOCK, pool.prefixCache().find(h[2]));
            second.free();
            assertCounts(pool, 1, 2, 2);
        }
    }

    @Test
    void shouldEvictOnlyUnreferencedBlocks() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 3)) {
            BlockHash[] h = chain(16, 3);
            int[] blocks = publishChain(pool, h);
            pool.release(blocks[1]);
            assertEquals(blocks[1], pool.allocate());
            assertEquals(KvBlockPool.NO_BLOCK, pool.allocate(), "referenced cached blocks are never evicted");
            assertEquals(blocks[0], pool.prefixCache().find(h[0]));
            assertEquals(blocks[2], pool.prefixCache().find(h[2]));
            assertEquals(1, pool.prefixCache().evictions());
        }
    }

    @Test
    void shouldReturnNoBlockWhenEveryCachedBlockIsReferenced() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 2)) {
            publishChain(pool, chain(17, 2));
            assertEquals(KvBlockPool.NO_BLOCK, pool.allocate());
            assertCounts(pool, 0, 0, 2);
            KvSequence seq = new KvSequence(pool);
            assertThrows(KvPoolExhaustedException.class, () -> seq.reserve(1));
            assertEquals(0, pool.prefixCache().evictions());
        }
    }

    @Test
    void shouldReserveFromEvictableBlocksWhenNoneIsEmpty() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 2)) {
            int[] blocks = publishChain(pool, chain(18, 2));
            pool.releaseAll(blocks, 2);
            KvSequence seq = new KvSequence(pool);
            seq.reserve(2 * SPEC.blockSize());
            assertEquals(2, seq.blockCount());
            assertEquals(0, pool.prefixCache().readyBlockCount());
            assertCounts(pool, 0, 0, 2);
        }
    }

    @Test
    void shouldLetASecondRequestMatchAPendingClaimAndSeeItBecomeReady() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash[] h = chain(19, 2);
            int[] writer = publishChain(pool, new BlockHash[] {h[0]});
            int computing = pool.allocate();
            assertTrue(pool.claim(h[1], computing, 1));
            assertEquals(State.PENDING, pool.blockState(computing));
            assertEquals(1, pool.prefixCache().pendingBlockCount());

            int[] out = new int[2];
            boolean[] ready = new boolean[2];
            assertEquals(2, pool.match(h, 2, out, ready));
            assertEquals(writer[0], out[0]);
            assertEquals(computing, out[1]);
            assertTrue(ready[0]);
            assertFalse(ready[1], "a pending block is matched but not ready");
            assertFalse(pool.isReady(computing));
            assertEquals(2, pool.refCount(computing));

            assertTrue(pool.publish(computing, h[1], 1));
            assertTrue(pool.isReady(computing));
            assertEquals(0, pool.prefixCache().pendingBlockCount());
            assertEquals(2, pool.prefixCache().readyBlockCount());
            assertEquals(1, pool.prefixCache().pendingHitBlocks());
        }
    }

    @Test
    void shouldRefuseASecondClaimOnTheSameHashOrAClaimOnACachedBlock() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash[] h = chain(20, 2);
            int a = pool.allocate();
            int b = pool.allocate();
            assertTrue(pool.claim(h[0], a, 0));
            assertFalse(pool.claim(h[0], b, 0), "the hash already has a pending block");
            assertEquals(State.UNCACHED, pool.blockState(b));
            assertFalse(pool.publish(b, h[0], 0), "first writer wins over a later private copy too");
            assertThrows(EngineException.class, () -> pool.claim(h[1], a, 1), "a pending block cannot be claimed again");
            assertEquals(1, pool.prefixCache().claims());
        }
    }

    @Test
    void shouldTellAWaiterThatAnAbandonedClaimWillNeverBeReady() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            BlockHash[] h = chain(21, 1);
            int computing = pool.allocate();
            pool.claim(h[0], computing, 0);
            int[] out = new int[1];
            assertEquals(1, pool.match(h, 1, out, new boolean[1]));

            pool.abandon(computing);
            pool.release(computing); // the cancelled writer lets go
            assertEquals(State.ABANDONED, pool.blockState(out[0]), "the waiter still holds it and sees the abandon");
            assertFalse(pool.isReady(out[0]));
            assertNull(pool.prefixCache().hashOf(out[0]));
            assertEquals(KvBlockPool.NO_BLOCK, pool.prefixCache().find(h[0]));
            assertEquals(0, pool.match(h, 1, new int[1], new boolean[1]), "nobody else finds it");
            assertThrows(EngineException.class, () -> pool.publish(out[0], h[0], 0));
            assertThrows(EngineException.class, () -> pool.abandon(out[0]));

            pool.release(out[0]);
            assertEquals(State.UNCACHED, pool.blockState(computing));
            assertCounts(pool, 4, 0, 0);
            assertEquals(1, pool.prefixCache().abandons());
            assertEquals(0, pool.prefixCache().pendingBlockCount());
        }
    }

    @Test
    void shouldDropAClaimWhoseLastReferenceIsReleased() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 2)) {
            BlockHash h = chain(22, 1)[0];
            int b = pool.allocate();
            pool.claim(h, b, 0);
            pool.release(b);
            assertEquals(State.UNCACHED, pool.blockState(b));
            assertEquals(KvBlockPool.NO_BLOCK, pool.prefixCache().find(h));
            assertCounts(pool, 2, 0, 0);
            assertEquals(1, pool.prefixCache().abandons());
            int again = pool.allocate();
            assertTrue(pool.claim(h, again, 0), "the hash can be claimed again");
        }
    }

    @Test
    void shouldCountLookupsHitsMissesPublishesAndEvictions() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 3)) {
            BlockHash[] h = chain(23, 4);
            int[] blocks = publishChain(pool, new BlockHash[] {h[0], h[1]});
            int[] out = new int[4];
            boolean[] ready = new boolean[4];
            pool.match(h, 4, out, ready); // 2 hits, 2 misses
            pool.match(chain(24, 3), 3, out, ready); // 3 misses
            pool.release(out[0]);
            pool.release(out[1]);
            pool.releaseAll(blocks, 2);
            pool.allocate(); // the empty block
            pool.allocate(); // evicts h[1]
            PrefixCache c = pool.prefixCache();
            assertEquals(2, c.lookups());
            assertEquals(2, c.hitBlocks());
            assertEquals(0, c.pendingHitBlocks());
            assertEquals(5, c.missBlocks());
            assertEquals(2, c.publishes());
            assertEquals(1, c.evictions());
            assertEquals(1, c.readyBlockCount());
        }
    }

    @Test
    void shouldShowTheEvictionListenerTheBlockBeforeItIsReused() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 1)) {
            BlockHash h = chain(25, 1)[0];
            int b = pool.allocate();
            pool.block(b).fill((byte) 0x5a);
            pool.publish(b, h, 0);
            pool.release(b);
            List<String> seen = new ArrayList<>();
            byte[][] copy = new byte[1][];
            pool.setEvictionListener((hash, block, bytes) -> {
                seen.add(hash + "@" + block + " " + pool.blockState(block) + " mapped=" + (pool.prefixCache().find(hash)
                        == block));
                copy[0] = bytes.toArray(ValueLayout.JAVA_BYTE);
            });
            assertEquals(b, pool.allocate());
            pool.block(b).fill((byte) 0x11); // the new owner overwrites the block
            assertEquals(List.of(h + "@" + b + " READY mapped=true"), seen);
            assertEquals(SPEC.blockBytes(), copy[0].length);
            byte[] expected = new byte[(int) SPEC.blockBytes()];
            Arrays.fill(expected, (byte) 0x5a);
            assertArrayEquals(expected, copy[0], "the listener saw the cached bytes, not the new owner's");
        }
    }

    @Test
    void shouldLeaveTheBlockCachedWhenTheEvictionListenerThrows() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 1)) {
            BlockHash h = chain(26, 1)[0];
            int b = pool.allocate();
            pool.publish(b, h, 0);
            pool.release(b);
            pool.setEvictionListener((hash, block, bytes) -> {
                throw new IllegalStateException("host tier full");
            });
            assertThrows(IllegalStateException.class, pool::allocate);
            assertEquals(b, pool.prefixCache().find(h));
            assertCounts(pool, 0, 1, 0);
            pool.setEvictionListener(null);
            assertEquals(b, pool.allocate());
        }
    }

    @Test
    void shouldAdoptAMatchedPrefixAndComputeOnInANewBlock() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 6)) {
            BlockHash[] h = chain(27, 2);
            int[] cached = publishChain(pool, h);
            pool.releaseAll(cached, 2);
            int[] out = new int[2];
            int n = pool.match(h, 2, out, new boolean[2]);
            KvSequence seq = new KvSequence(pool);
            seq.adoptPrefix(out, n);
            assertEquals(2 * SPEC.blockSize(), seq.length());
            assertEquals(2, seq.blockCount());
            assertEquals(cached[0], seq.blockTable()[0]);
            assertEquals(cached[1], seq.blockTable()[1]);
            seq.reserve(2 * SPEC.blockSize() + 1);
            assertEquals(3, seq.blockCount());
            int own = seq.blockTable()[2];
            assertFalse(own == cached[0] || own == cached[1]);
            assertThrows(IllegalStateException.class, () -> seq.adoptPrefix(out, n));
            seq.free();
            assertEquals(State.UNCACHED, pool.blockState(own));
            assertCounts(pool, 4, 2, 0);
        }
    }

    @Test
    void shouldNotAllocateWhenEvictingOrMatching() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 64)) {
            BlockHash[] h = chain(28, 64);
            int[] blocks = publishChain(pool, h);
            int[] out = new int[64];
            boolean[] ready = new boolean[64];
            ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
            long tid = Thread.currentThread().threadId();
            for (int warm = 0; warm < 3; warm++) {
                cycle(pool, h, blocks, out, ready);
            }
            long before = mx.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 100; i++) {
                cycle(pool, h, blocks, out, ready);
            }
            long after = mx.getThreadAllocatedBytes(tid);
            assertTrue(after - before < 4096, "allocated " + (after - before) + " bytes in 100 cycles");
        }
    }

    /** Release all, match all again, release, allocate all (evicting every cached block), republish. */
    private static void cycle(KvBlockPool pool, BlockHash[] h, int[] blocks, int[] out, boolean[] ready) {
        pool.releaseAll(blocks, blocks.length);
        if (pool.match(h, h.length, out, ready) != h.length) {
            throw new AssertionError("cached chain not matched");
        }
        pool.releaseAll(out, h.length);
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = pool.allocate();
        }
        for (int i = 0; i < blocks.length; i++) {
            if (!pool.publish(blocks[i], h[i], i)) {
                throw new AssertionError("hash " + i + " still cached after every block was evicted");
            }
        }
    }

    @Test
    void shouldRefuseAMatchWithTooFewOutputSlots() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 2)) {
            BlockHash[] h = chain(29, 2);
            assertThrows(EngineException.class, () -> pool.match(h, 2, new int[1], new boolean[2]));
            assertThrows(EngineException.class, () -> pool.match(h, 3, new int[3], new boolean[3]));
            assertEquals(0, pool.prefixCache().lookups());
        }
    }
}
