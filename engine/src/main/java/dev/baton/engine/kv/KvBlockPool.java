package dev.baton.engine.kv;

import dev.baton.common.BlockHash;
import dev.baton.engine.EngineException;
import java.lang.foreign.Arena;
import java.util.function.LongFunction;
import java.lang.foreign.MemorySegment;

/**
 * A fixed pool of KV blocks allocated off-heap once, at start-up, with the node's prefix cache
 * ({@link PrefixCache}, docs/design.md §4, §6).
 *
 * <p>Blocks are refcounted: {@link #allocate()} hands out a block with count 1, {@link #retain(int)}
 * and {@link #release(int)} move it. A block whose count drops to zero returns to the free queue,
 * unless it holds a published prefix block: then it stays cached, unreferenced and <em>evictable</em>,
 * so that a later {@link #match} can take it again. Allocation returns {@link #NO_BLOCK} when no block
 * is free or evictable (a return code: the scheduler decides whether to wait, preempt or refuse).
 *
 * <p>Every block is in exactly one of three groups, and the counts add up to {@link #blockCount()}:
 * <ul>
 *   <li><em>empty</em> ({@link #emptyBlockCount()}): unreferenced, holding nothing; in the free queue;</li>
 *   <li><em>evictable</em> ({@link #evictableBlockCount()}): unreferenced, holding a cached prefix block;</li>
 *   <li><em>used</em> ({@link #usedBlockCount()}): referenced by at least one holder.</li>
 * </ul>
 * {@link #freeBlockCount()} is empty + evictable: how many blocks {@code allocate()} can still hand
 * out, which is what a scheduler admits requests by (unchanged from before the cache existed).
 * {@code allocate()} takes an empty block first and evicts a cached one only when none is left, in
 * the order {@link PrefixCache} documents (least recently released first, deepest first among equals).
 *
 * <h2>Prefix cache operations</h2>
 * <ul>
 *   <li>{@link #publish(int, BlockHash, int)}: the block's KV is written; cache it under its hash.</li>
 *   <li>{@link #claim(BlockHash, int, int)}: the block is about to be computed; let others find it now
 *       ({@code PENDING}) and wait for it.</li>
 *   <li>{@link #match}: take references on the longest cached prefix of a prompt's block hashes.</li>
 *   <li>{@link #blockState(int)} / {@link #isReady(int)}: whether a matched pending block is written yet.</li>
 *   <li>{@link #abandon(int)}: the computing request stopped; waiters see {@code ABANDONED}.</li>
 *   <li>{@link #clearPrefixCache()}: forget every cached block.</li>
 * </ul>
 * A {@link KvEventListener} ({@link #setEventListener}) hears each block become cached ({@code Stored}),
 * each eviction ({@code Removed}) and each clear.
 * A block's <em>depth</em> is its index in the prompt's hash chain ({@code hashes[depth]} from
 * {@link dev.baton.common.BlockHasher#hashFullBlocks}); a cached block is at the same index in the
 * block table of every sequence that uses it.
 *
 * <p>Threading: the bookkeeping is owned by one thread (the engine loop); the memory itself may be
 * read and written by the forward pass's worker threads, and by transports, for blocks they hold.
 * The memory lives until {@link #close()}. Nothing here allocates on the heap per call, except the
 * block slice handed to an {@link PrefixCache.EvictionListener} when one is set.
 */
public final class KvBlockPool implements AutoCloseable {

    public static final int NO_BLOCK = -1;

    private final KvCacheSpec spec;
    private final int blockCount;
    private final Arena arena;
    private final MemorySegment memory;
    private final int[] refCounts;
    private final int[] generations; // allocations per block (generation())
    private final int[] freeQueue; // ring buffer of free block ids
    private int freeHead;
    private int freeSize;
    private final PrefixCache cache;
    private PrefixCache.EvictionListener evictionListener;
    private KvEventListener eventListener;

    public KvBlockPool(KvCacheSpec spec, int blockCount) {
        this(spec, blockCount, null);
    }

    /**
     * A pool whose memory comes from {@code memory} (given the bytes needed; at least that many,
     * 64-byte aligned, zeroed, and kept mapped by its owner until after {@link #close()}), or is
     * allocated off-heap here when {@code memory} is null or returns null. A prefill node passes shared memory, so
     * decode nodes on its host can copy its blocks straight out of the pool.
     */
    public KvBlockPool(KvCacheSpec spec, int blockCount, LongFunction<MemorySegment> memory) {
        if (blockCount < 1) {
            throw new EngineException("KV pool needs at least 1 block, got " + blockCount);
        }
        this.spec = spec;
        this.blockCount = blockCount;
        long bytes = Math.multiplyExact(spec.blockBytes(), (long) blockCount);
        MemorySegment given = memory == null ? null : memory.apply(bytes);
        if (given != null) {
            if (given.byteSize() < bytes || given.address() % 64 != 0 || given.isReadOnly()) {
                throw new EngineException("the KV pool memory supplied for " + blockCount + " blocks is not " + bytes
                        + " writable, 64-byte aligned bytes: " + given);
            }
            this.arena = null;
            this.memory = given.asSlice(0, bytes);
        } else {
            this.arena = Arena.ofShared();
            try {
                this.memory = arena.allocate(bytes, 64);
            } catch (OutOfMemoryError e) {
                arena.close();
                throw new EngineException("cannot allocate a KV pool of " + blockCount + " blocks (" + bytes
                        + " bytes off-heap): lower kv.blocks or use an F16 cache", e);
            }
        }
        this.refCounts = new int[blockCount];
        this.generations = new int[blockCount];
        this.freeQueue = new int[blockCount];
        for (int i = 0; i < blockCount; i++) {
            freeQueue[i] = i;
        }
        this.freeSize = blockCount;
        this.cache = new PrefixCache(blockCount);
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

    /** Blocks {@link #allocate()} can still hand out: {@link #emptyBlockCount()} + {@link #evictableBlockCount()}. */
    public int freeBlockCount() {
        return freeSize + cache.evictableBlockCount();
    }

    /** Unreferenced blocks that hold nothing (the free queue). */
    public int emptyBlockCount() {
        return freeSize;
    }

    /** Unreferenced blocks that hold a cached prefix block, taken by {@link #allocate()} after the empty ones. */
    public int evictableBlockCount() {
        return cache.evictableBlockCount();
    }

    /** Blocks with at least one reference: {@link #blockCount()} - {@link #freeBlockCount()}. */
    public int usedBlockCount() {
        return blockCount - freeBlockCount();
    }

    /** The prefix cache's states, hashes and counters. */
    public PrefixCache prefixCache() {
        return cache;
    }

    /** Sets (or, with {@code null}, removes) the hook that sees each cached block before it is evicted. */
    public void setEvictionListener(PrefixCache.EvictionListener listener) {
        this.evictionListener = listener;
    }

    /**
     * Sets (or, with {@code null}, removes) the listener of the cache's {@code Stored} / {@code Removed} /
     * {@code Cleared} events. Call it on the thread that owns the pool (for an engine loop, before the
     * first request or through {@code EngineLoop.execute}).
     */
    public void setEventListener(KvEventListener listener) {
        this.eventListener = listener;
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

    /**
     * Takes a block (refcount 1): an empty one if any, else evicts the next evictable cached block
     * (its hash mapping is dropped; the eviction listener sees it first, the event listener hears
     * {@code onRemoved} after). Returns
     * {@link #NO_BLOCK} when every block is referenced.
     */
    public int allocate() {
        int b;
        if (freeSize > 0) {
            b = freeQueue[freeHead];
            freeHead = (freeHead + 1) % blockCount;
            freeSize--;
        } else {
            b = cache.oldestEvictable();
            if (b == NO_BLOCK) {
                return NO_BLOCK;
            }
            BlockHash hash = cache.hashOf(b);
            if (evictionListener != null) {
                evictionListener.onEvict(hash, b, memory.asSlice(blockOffset(b), spec.blockBytes()));
            }
            cache.evict(b);
            if (eventListener != null) {
                eventListener.onRemoved(hash);
            }
        }
        refCounts[b] = 1;
        generations[b]++;
        return b;
    }

    /**
     * How many times {@code block} has been allocated: a backend that keeps a copy of the pool elsewhere (a GPU) knows
     * its copy of a block is stale when the block's generation moved since it last wrote or uploaded it (the block
     * was taken again, and its host bytes written by an import, the host tier, or nothing yet).
     */
    public int generation(int block) {
        return generations[block];
    }

    public void retain(int block) {
        checkHeld(block);
        refCounts[block]++;
    }

    /**
     * Drops one reference. At zero a cached ({@code READY}) block becomes evictable; any other block
     * returns to the free queue (a {@code PENDING} block's claim is dropped first, as if abandoned).
     */
    public void release(int block) {
        checkHeld(block);
        if (--refCounts[block] == 0) {
            unreferenced(block, cache.nextTick());
        }
    }

    /**
     * Drops one reference on each of {@code blocks[0, count)}, as one release: cached blocks that
     * become evictable are equally recent, so they are evicted deepest first. Releases from the last
     * block to the first, which makes a chain's insertion into the eviction order O(1) per block.
     */
    public void releaseAll(int[] blocks, int count) {
        long tick = cache.nextTick();
        for (int i = count - 1; i >= 0; i--) {
            int b = blocks[i];
            checkHeld(b);
            if (--refCounts[b] == 0) {
                unreferenced(b, tick);
            }
        }
    }

    private void unreferenced(int block, long tick) {
        if (!cache.onUnreferenced(block, tick)) {
            freeQueue[(freeHead + freeSize) % blockCount] = block;
            freeSize++;
        }
    }

    /**
     * Takes a reference on each block of the longest cached prefix of {@code hashes[0, hashCount)}
     * (ready or pending), stopping at the first hash that is not cached. The references belong to
     * the caller, who appends the blocks to a sequence ({@link KvSequence#adoptPrefix}) or releases
     * them. A caller that needs logits for the last prompt token should ask for at most
     * {@code (promptLength - 1) / blockSize} hashes, so that at least one token is left to compute.
     *
     * @param blocksOut receives the matched block ids, {@code blocksOut[i]} for {@code hashes[i]}
     * @param readyOut  receives, for each matched block, whether its KV is written ({@code READY});
     *                  a {@code false} entry is {@code PENDING}: wait until {@link #isReady(int)}
     * @return how many leading hashes matched
     */
    public int match(BlockHash[] hashes, int hashCount, int[] blocksOut, boolean[] readyOut) {
        if (hashCount < 0 || hashCount > hashes.length || blocksOut.length < hashCount
                || readyOut.length < hashCount) {
            throw new EngineException("match of " + hashCount + " hashes needs that many hashes (" + hashes.length
                    + "), block slots (" + blocksOut.length + ") and ready flags (" + readyOut.length + ")");
        }
        int matched = 0;
        int pending = 0;
        while (matched < hashCount) {
            int b = cache.find(hashes[matched]);
            if (b == NO_BLOCK) {
                break;
            }
            if (refCounts[b] == 0) {
                cache.onReferenced(b);
            }
            refCounts[b]++;
            boolean ready = cache.state(b) == PrefixCache.State.READY;
            if (!ready) {
                pending++;
            }
            blocksOut[matched] = b;
            readyOut[matched] = ready;
            matched++;
        }
        cache.recordLookup(hashCount, matched, pending);
        return matched;
    }

    /**
     * Registers a held block that the caller is about to compute as the {@code PENDING} entry for
     * {@code hash}, so that other requests can match it and wait instead of computing it again. The
     * caller must later {@link #publish} it once its KV is written, or {@link #abandon} it.
     *
     * @param depth the block's index in its hash chain
     * @return true if the block is now the entry for {@code hash}; false if another block already is
     *     (nothing changed: match that one instead, or compute this one privately)
     * @throws EngineException if the block is not held or is already cached or abandoned
     */
    public boolean claim(BlockHash hash, int block, int depth) {
        checkHeld(block);
        return cache.claim(hash, block, depth);
    }

    /**
     * Caches a held block whose KV (all {@code blockSize} positions) is written under {@code hash}; a
     * {@code PENDING} block claimed under {@code hash} becomes {@code READY}. First writer wins: if
     * another block already holds {@code hash} (ready or pending), nothing changes and this block stays
     * private (it returns to the free queue when released). Publishing the same block and hash again
     * is a no-op that returns true. The event listener hears {@code onStored} when the block becomes
     * {@code READY} (not for the no-op).
     *
     * @param depth the block's index in its hash chain (its eviction priority among equally old blocks)
     * @return true if this block is now cached under {@code hash}; false if another block holds it
     * @throws EngineException if the block is not held, is cached under another hash or depth, or its
     *     claim was abandoned
     */
    public boolean publish(int block, BlockHash hash, int depth) {
        checkHeld(block);
        boolean wasReady = cache.state(block) == PrefixCache.State.READY;
        boolean cached = cache.publish(block, hash, depth);
        if (cached && !wasReady && eventListener != null) {
            eventListener.onStored(hash, depth);
        }
        return cached;
    }

    /**
     * Drops the {@code PENDING} claim on a held block (its computing request stopped): the hash is no
     * longer mapped, and the block is {@code ABANDONED} until its last reference is released. Waiters
     * that matched it see {@link PrefixCache.State#ABANDONED} and must release it and compute that
     * part of the prompt themselves. Only the claimer may abandon: the pool does not record who claimed.
     *
     * @throws EngineException if the block is not held or not {@code PENDING}
     */
    public void abandon(int block) {
        checkHeld(block);
        cache.abandon(block);
    }

    /**
     * Drops every {@code READY} block's hash at once, then tells the event listener {@code onCleared}.
     * Unreferenced cached blocks become empty; referenced ones stay with their holders as private,
     * written blocks ({@code UNCACHED}) and go to the free queue when released. {@code PENDING} claims
     * are kept: they are published (and reported {@code Stored}) or abandoned as usual.
     */
    public void clearPrefixCache() {
        for (int b = 0; b < blockCount; b++) {
            if (cache.state(b) == PrefixCache.State.READY) {
                boolean unreferenced = refCounts[b] == 0;
                cache.uncache(b, unreferenced);
                if (unreferenced) {
                    freeQueue[(freeHead + freeSize) % blockCount] = b;
                    freeSize++;
                }
            }
        }
        if (eventListener != null) {
            eventListener.onCleared();
        }
    }

    /** The prefix-cache state of {@code block}. */
    public PrefixCache.State blockState(int block) {
        checkId(block);
        return cache.state(block);
    }

    /**
     * Whether {@code block} holds written, cached KV ({@code READY}); false while pending or abandoned,
     * and after {@link #clearPrefixCache()} made it private.
     */
    public boolean isReady(int block) {
        checkId(block);
        return cache.state(block) == PrefixCache.State.READY;
    }

    public int refCount(int block) {
        checkId(block);
        return refCounts[block];
    }

    private void checkId(int block) {
        if (block < 0 || block >= blockCount) {
            throw new EngineException("block id " + block + " outside the pool (0.." + (blockCount - 1) + ")");
        }
    }

    private void checkHeld(int block) {
        if (refCount(block) <= 0) {
            throw new EngineException("block " + block + " is not held (refcount 0)");
        }
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }
}
