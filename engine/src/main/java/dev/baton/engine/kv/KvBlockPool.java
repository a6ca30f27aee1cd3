package dev.baton.engine.kv;

import dev.baton.engine.EngineException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A fixed pool of KV blocks allocated off-heap once, at start-up.
 *
 * <p>Blocks are refcounted: {@link #allocate()} hands out a block with count 1, {@link #retain(int)}
 * and {@link #release(int)} move it, and a block whose count drops to zero returns to the free queue.
 * Allocation returns {@link #NO_BLOCK} when the pool is empty (a return code: the scheduler decides
 * whether to wait, preempt or refuse).
 *
 * <p>Threading: the bookkeeping is owned by one thread (the engine loop); the memory itself may be
 * read and written by the forward pass's worker threads, and by transports, for blocks they hold.
 * The memory lives until {@link #close()}.
 */
public final class KvBlockPool implements AutoCloseable {

    public static final int NO_BLOCK = -1;

    private final KvCacheSpec spec;
    private final int blockCount;
    private final Arena arena;
    private final MemorySegment memory;
    private final int[] refCounts;
    private final int[] freeQueue; // ring buffer of free block ids
    private int freeHead;
    private int freeSize;

    public KvBlockPool(KvCacheSpec spec, int blockCount) {
        if (blockCount < 1) {
            throw new EngineException("KV pool needs at least 1 block, got " + blockCount);
        }
        this.spec = spec;
        this.blockCount = blockCount;
        this.arena = Arena.ofShared();
        long bytes = Math.multiplyExact(spec.blockBytes(), (long) blockCount);
        try {
            this.memory = arena.allocate(bytes, 64);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new EngineException("cannot allocate a KV pool of " + blockCount + " blocks (" + bytes
                    + " bytes off-heap): lower kv.blocks or use an F16 cache", e);
        }
        this.refCounts = new int[blockCount];
        this.freeQueue = new int[blockCount];
        for (int i = 0; i < blockCount; i++) {
            freeQueue[i] = i;
        }
        this.freeSize = blockCount;
    }

    /** Pool size for a byte budget: as many whole blocks as fit. */
    public static int blocksForBytes(KvCacheSpec spec, long bytes) {
        return (int) Math.min(Integer.MAX_VALUE, bytes / spec.blockBytes());
    }

    public KvCacheSpec spec() {
        return spec;
    }

    public int blockCount() {
        return blockCount;
    }

    public int freeBlockCount() {
        return freeSize;
    }

    public int usedBlockCount() {
        return blockCount - freeSize;
    }

    /** The whole pool's memory; block {@code b} starts at {@link #blockOffset(int)}. */
    public MemorySegment memory() {
        return memory;
    }

    public long blockOffset(int block) {
        return block * spec.blockBytes();
    }

    /** A slice over one block's bytes (allocates the slice object: not for per-token paths). */
    public MemorySegment block(int block) {
        checkHeld(block);
        return memory.asSlice(blockOffset(block), spec.blockBytes());
    }

    /** Takes a free block (refcount 1), or returns {@link #NO_BLOCK} when none is free. */
    public int allocate() {
        if (freeSize == 0) {
            return NO_BLOCK;
        }
        int b = freeQueue[freeHead];
        freeHead = (freeHead + 1) % blockCount;
        freeSize--;
        refCounts[b] = 1;
        return b;
    }

    public void retain(int block) {
        checkHeld(block);
        refCounts[block]++;
    }

    /** Drops one reference; at zero the block returns to the free queue. */
    public void release(int block) {
        checkHeld(block);
        if (--refCounts[block] == 0) {
            freeQueue[(freeHead + freeSize) % blockCount] = block;
            freeSize++;
        }
    }

    public int refCount(int block) {
        if (block < 0 || block >= blockCount) {
            throw new EngineException("block id " + block + " outside the pool (0.." + (blockCount - 1) + ")");
        }
        return refCounts[block];
    }

    private void checkHeld(int block) {
        if (refCount(block) <= 0) {
            throw new EngineException("block " + block + " is not held (refcount 0)");
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
