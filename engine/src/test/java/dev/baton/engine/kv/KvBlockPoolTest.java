package dev.baton.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.EngineException;
import dev.baton.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

class KvBlockPoolTest {

    static final KvCacheSpec SPEC = new KvCacheSpec(2, 2, 16, 16, GgmlType.F16);

    @Test
    void shouldCountEachBlocksAllocations() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 2)) {
            int a = pool.allocate();
            int g = pool.generation(a);
            pool.retain(a);
            pool.release(a);
            assertEquals(g, pool.generation(a), "a reference more is not a new allocation");
            pool.release(a);
            int b = pool.allocate();
            int c = pool.allocate();
            int again = b == a ? b : c;
            assertEquals(a, again, "two blocks: the freed one comes back");
            assertEquals(g + 1, pool.generation(a), "taken again: the generation moved");
        }
    }

    @Test
    void shouldSizeBlocksFromTheLayout() {
        assertEquals(16L * 16 * 2, SPEC.headRunBytes());
        assertEquals(2L * 2 * 16 * 16 * 2 * 2, SPEC.blockBytes());
        assertEquals(SPEC.layerBytes() + SPEC.headRunBytes() * 2 + 3L * 16 * 2, SPEC.offsetInBlock(1, true, 0, 3));
    }

    @Test
    void shouldUseMemoryTheCallerGivesAndLeaveItToTheCaller() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment given = arena.allocate(4 * SPEC.blockBytes() + 64, 4096);
            long[] asked = new long[1];
            try (KvBlockPool pool = new KvBlockPool(SPEC, 4, bytes -> {
                asked[0] = bytes;
                return given;
            })) {
                assertEquals(4 * SPEC.blockBytes(), asked[0]);
                int b = pool.allocate();
                assertEquals(given.address() + b * SPEC.blockBytes(), pool.block(b).address(), "blocks lie in the given memory");
            }
            given.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1); // still mapped: closing the pool left it alone
            EngineException shortMemory = assertThrows(EngineException.class,
                    () -> new KvBlockPool(SPEC, 4, bytes -> given.asSlice(0, bytes - 64)));
            assertTrue(shortMemory.getMessage().contains("64-byte aligned"), shortMemory.getMessage());
            assertThrows(EngineException.class, () -> new KvBlockPool(SPEC, 4, bytes -> given.asSlice(8)));
            try (KvBlockPool own = new KvBlockPool(SPEC, 4, bytes -> null)) {
                long at = own.block(own.allocate()).address();
                assertTrue(at < given.address() || at >= given.address() + given.byteSize(),
                        "no memory given: the pool allocates its own");
            }
        }
    }

    @Test
    void shouldRefcountAndReturnBlocksToTheFreeQueue() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 3)) {
            int a = pool.allocate();
            int b = pool.allocate();
            int c = pool.allocate();
            assertEquals(KvBlockPool.NO_BLOCK, pool.allocate(), "empty pool must return NO_BLOCK");
            pool.retain(a);
            pool.release(a);
            assertEquals(0, pool.freeBlockCount());
            pool.release(a);
            assertEquals(1, pool.freeBlockCount());
            assertEquals(a, pool.allocate());
            pool.release(a);
            pool.release(b);
            pool.release(c);
            assertEquals(3, pool.freeBlockCount());
            assertThrows(EngineException.class, () -> pool.release(b), "double release must be refused");
        }
    }

    @Test
    void shouldReserveAllOrNothing() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 4)) {
            KvSequence s = new KvSequence(pool);
            s.reserve(33);
            assertEquals(3, s.blockCount());
            KvSequence t = new KvSequence(pool);
            KvPoolExhaustedException ex = assertThrows(KvPoolExhaustedException.class, () -> t.reserve(40));
            assertTrue(ex.getMessage().contains("1 of 4 are free"), ex.getMessage());
            assertEquals(0, t.blockCount());
            assertEquals(1, pool.freeBlockCount());
            s.free();
            s.free();
            assertEquals(4, pool.freeBlockCount());
        }
    }

    @Test
    void shouldRefuseBadGeometry() {
        assertThrows(EngineException.class, () -> new KvCacheSpec(2, 2, 16, 16, GgmlType.Q8_0));
        assertThrows(EngineException.class, () -> new KvCacheSpec(2, 2, 16, 0, GgmlType.F32));
    }
}
