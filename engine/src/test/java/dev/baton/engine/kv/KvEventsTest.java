package dev.baton.engine.kv;

import static dev.baton.engine.kv.PrefixCacheTest.assertCounts;
import static dev.baton.engine.kv.PrefixCacheTest.chain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.baton.common.BlockHash;
import dev.baton.engine.kv.PrefixCache.State;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pool's KV events (Stored, Removed, Cleared), {@link KvBlockPool#clearPrefixCache()}, and the
 * holes a sequence leaves when it drops a shared block that will never be written.
 */
class KvEventsTest {

    /** Records events as strings: "stored HASH DEPTH", "removed HASH", "cleared". */
    static final class Recorder implements KvEventListener {
        final List<String> events = new ArrayList<>();

        @Override
        public void onStored(BlockHash hash, int depth) {
            events.add("stored " + hash + " " + depth);
        }

        @Override
        public void onRemoved(BlockHash hash) {
            events.add("removed " + hash);
        }

        @Override
        public void onCleared() {
            events.add("cleared");
        }
    }

    @Test
    void shouldReportAStoredBlockOnceWhenItBecomesReady() {
        try (KvBlockPool pool = new KvBlockPool(PrefixCacheTest.SPEC, 4)) {
            Recorder r = new Recorder();
            pool.setEventListener(r);
            BlockHash[] h = chain(31, 2);
            int a = pool.allocate();
            int b = pool.allocate();
            int copy = pool.allocate();
            assertTrue(pool.claim(h[1], b, 1));
            assertTrue(r.events.isEmpty(), "a pending claim is not stored yet");
            assertTrue(pool.publish(a, h[0], 0));
            assertTrue(pool.publish(a, h[0], 0), "publishing again is a no-op");
            assertFalse(pool.publish(copy, h[0], 0), "a second writer of the same hash is refused");
            assertTrue(pool.publish(b, h[1], 1));
            assertEquals(List.of("stored " + h[0] + " 0", "stored " + h[1] + " 1"), r.events);
        }
    }

    @Test
    void shouldNotReportAnAbandonedClaim() {
        try (KvBlockPool pool = new KvBlockPool(PrefixCacheTest.SPEC, 2)) {
            Recorder r = new Recorder();
            pool.setEventListener(r);
            int b = pool.allocate();
            pool.claim(chain(32, 1)[0], b, 0);
            pool.abandon(b);
            pool.release(b);
            assertTrue(r.events.isEmpty(), r.events.toString());
        }
    }

    @Test
    void shouldReportAnEvictedBlockAsRemoved() {
        try (KvBlockPool pool = new KvBlockPool(PrefixCacheTest.SPEC, 2)) {
            Recorder r = new Recorder();
            pool.setEventListener(r);
            BlockHash[] h = chain(33, 2);
            int[] blocks = PrefixCacheTest.publishChain(pool, h);
            pool.releaseAll(blocks, 2);
            r.events.clear();
            pool.allocate(); // evicts the deeper block first
            assertEquals(List.of("removed " + h[1]), r.events);
            assertEquals(1, pool.prefixCache().evictions());
        }
    }

    @Test
    void shouldClearEveryCachedBlockAndKeepPendingClaims() {
        try (KvBlockPool pool = new KvBlockPool(PrefixCacheTest.SPEC, 5)) {
            Recorder r = new Recorder();
            BlockHash[] h = chain(34, 4);
            int[] held = PrefixCacheTest.publishChain(pool, new BlockHash[] {h[0], h[1]});
            int evictable = pool.allocate();
            pool.publish(evictable, h[2], 2);
            pool.release(evictable);
            int pending = pool.allocate();
            pool.claim(h[3], pending, 3);
            assertCounts(pool, 1, 1, 3);
            pool.setEventListener(r);

            pool.clearPrefixCache();

            assertEquals(List.of("cleared"), r.events);
            assertCounts(pool, 2, 0, 3);
            assertEquals(State.UNCACHED, pool.blockState(held[0]), "a held block stays written but private");
            assertEquals(KvBlockPool.NO_BLOCK, pool.prefixCache().find(h[0]));
            assertEquals(0, pool.prefixCache().readyBlockCount());
            assertEquals(State.PENDING, pool.blockState(pending));
            assertEquals(pending, pool.prefixCache().find(h[3]));
            assertTrue(pool.publish(pending, h[3], 3));
            assertEquals(List.of("cleared", "stored " + h[3] + " 3"), r.events);
            pool.releaseAll(held, 2);
            assertCounts(pool, 4, 0, 1);
            assertTrue(pool.publish(pool.allocate(), h[0], 0), "a cleared hash can be published again");
        }
    }

    @Test
    void shouldDropAndRefillABlockOfASequenceAndFreeAroundHoles() {
        try (KvBlockPool pool = new KvBlockPool(PrefixCacheTest.SPEC, 4)) {
            int bs = PrefixCacheTest.SPEC.blockSize();
            KvSequence seq = new KvSequence(pool);
            seq.reserve(3 * bs);
            seq.setLength(bs);
            int dropped = seq.blockTable()[1];
            assertThrows(IllegalStateException.class, () -> seq.dropBlock(0), "block 0 holds computed positions");
            seq.dropBlock(1);
            assertEquals(KvBlockPool.NO_BLOCK, seq.blockTable()[1]);
            assertEquals(1, seq.holeCount());
            assertEquals(0, pool.refCount(dropped));
            assertThrows(IllegalStateException.class, () -> seq.dropBlock(1), "already a hole");
            assertThrows(IllegalStateException.class, () -> seq.fillBlock(2, 0), "not a hole");
            seq.free(); // with the hole still there
            assertCounts(pool, 4, 0, 0);
            assertEquals(0, seq.holeCount());

            seq.reserve(2 * bs);
            seq.dropBlock(1);
            int again = pool.allocate();
            seq.fillBlock(1, again);
            assertEquals(0, seq.holeCount());
            assertEquals(again, seq.blockTable()[1]);
            seq.free();
            assertCounts(pool, 4, 0, 0);
        }
    }

    @Test
    void shouldNotAllocateWhenReportingEvents() {
        try (KvBlockPool pool = new KvBlockPool(PrefixCacheTest.SPEC, 32)) {
            KvEventListener quiet = new KvEventListener() {
                long n;

                @Override
                public void onStored(BlockHash hash, int depth) {
                    n += depth;
                }

                @Override
                public void onRemoved(BlockHash hash) {
                    n++;
                }

                @Override
                public void onCleared() {
                    n = 0;
                }
            };
            pool.setEventListener(quiet);
            BlockHash[] h = chain(35, 32);
            int[] blocks = new int[32];
            ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
            long tid = Thread.currentThread().threadId();
            long before = 0;
            for (int round = 0; round < 50; round++) {
                if (round == 10) {
                    before = mx.getThreadAllocatedBytes(tid);
                }
                for (int i = 0; i < blocks.length; i++) {
                    blocks[i] = pool.allocate(); // evicts last round's blocks: Removed
                    pool.publish(blocks[i], h[i], i); // Stored
                }
                pool.releaseAll(blocks, blocks.length);
            }
            long after = mx.getThreadAllocatedBytes(tid);
            assertTrue(after - before < 4096, "allocated " + (after - before) + " bytes in 40 rounds");
        }
    }
}
