package dev.baton.engine.kv;

import dev.baton.common.BlockHash;
import dev.baton.engine.EngineException;
import java.lang.foreign.MemorySegment;

/**
 * The node prefix cache of one {@link KvBlockPool} (docs/design.md §4, §6): which blocks hold the KV of a
 * full, hashed prompt block, which of those are still being computed, and in which order unreferenced
 * cached blocks are evicted. The pool owns the reference counts and the free queue and calls in here;
 * the operations that take references ({@link KvBlockPool#match}, {@link KvBlockPool#claim},
 * {@link KvBlockPool#publish}, {@link KvBlockPool#abandon}) are the pool's. This class exposes the
 * read side: block states, hashes and counters.
 *
 * <h2>Block states</h2>
 *
 * <pre>
 *   UNCACHED --claim--> PENDING --publish--> READY --(unreferenced, then evicted by allocate)--> UNCACHED
 *   UNCACHED --publish------------------->  READY
 *   PENDING  --abandon--> ABANDONED --(last reference released)--> UNCACHED
 *   PENDING  --(last reference released: the claim is dropped)--> UNCACHED
 *   READY    --clearPrefixCache--> UNCACHED   (still written; private to whoever holds it)
 * </pre>
 *
 * <ul>
 *   <li>{@link State#UNCACHED}: no hash; the block is free or private to the sequences holding it.</li>
 *   <li>{@link State#PENDING}: mapped under its hash while its KV is being computed; always referenced
 *       (if its last reference goes, the claim is dropped as if abandoned).</li>
 *   <li>{@link State#READY}: mapped under its hash, KV written. Referenced, or unreferenced and evictable.</li>
 *   <li>{@link State#ABANDONED}: a dropped claim still referenced by waiters; it never becomes ready.</li>
 * </ul>
 * A block that a caller holds never changes identity: it cannot be evicted or reallocated while
 * referenced, so a waiter holding a matched {@code PENDING} block only needs to poll
 * {@link #state(int)}: it becomes {@code READY} or {@code ABANDONED}, and never anything else (a
 * {@code READY} block it holds only becomes {@code UNCACHED}, still written, if the whole cache is
 * cleared). That is why there is no generation counter.
 *
 * <h2>Eviction order</h2>
 *
 * Unreferenced {@code READY} blocks sit in one intrusive doubly-linked list over block ids (two
 * {@code int[]}, no nodes), ordered from next victim to last:
 * <ol>
 *   <li>by <em>release tick</em>, oldest first (least recently used). The tick is a counter the pool
 *       advances once per {@link KvBlockPool#release} or {@link KvBlockPool#releaseAll} call, so the
 *       blocks a sequence returns in one {@link KvSequence#free()} are equally old;</li>
 *   <li>among equally old blocks, by <em>depth</em> (the block's index in its hash chain, 0 for a
 *       prompt's first block), deepest first, so a chain is evicted from its tail and its head, the
 *       part most likely to be shared, stays longest;</li>
 *   <li>among equal depths, in the order they were released.</li>
 * </ol>
 * Ticks only grow, so a newly released block goes behind every older one: insertion walks back from
 * the list's tail only over blocks of the same tick that are shallower. Releasing a chain tail first
 * (as {@link KvSequence#free()} does) makes every insertion O(1); unlinking a matched block and
 * evicting the head are O(1).
 *
 * <p>Threading: owned by the thread that owns the pool (the engine loop); not thread-safe.
 */
public final class PrefixCache {

    /** The cache state of one block; see the class comment for the transitions. */
    public enum State {
        UNCACHED,
        PENDING,
        READY,
        ABANDONED
    }

    /**
     * Sees each cached block just before {@link KvBlockPool#allocate()} evicts it for reuse, so that
     * its KV can be kept elsewhere (the host tier).
     */
    @FunctionalInterface
    public interface EvictionListener {
        /**
         * Called on the pool's thread, while the block is still {@code READY} and mapped under
         * {@code hash}. {@code bytes} is the block's whole KV, valid only during the call. Must not
         * change the pool (allocate, release, match, claim, publish, abandon); read-only queries are
         * fine. An exception propagates out of {@code allocate()} and leaves the block cached.
         */
        void onEvict(BlockHash hash, int block, MemorySegment bytes);
    }

    private static final State[] STATES = State.values();
    // states[] holds the ordinals of State
    private static final byte B_UNCACHED = 0;
    private static final byte B_PENDING = 1;
    private static final byte B_READY = 2;
    private static final byte B_ABANDONED = 3;
    private static final int NIL = KvBlockPool.NO_BLOCK;

    private final BlockHashIndex index;
    private final byte[] states;
    private final BlockHash[] hashes;
    private final int[] depths;
    private final long[] releaseTicks;
    private final int[] prev;
    private final int[] next;
    private int head = NIL;
    private int tail = NIL;
    private int evictableCount;
    private int readyCount;
    private int pendingCount;
    private long clock;

    private long lookups;
    private long hitBlocks;
    private long pendingHitBlocks;
    private long missBlocks;
    private long publishes;
    private long duplicatePublishes;
    private long claims;
    private long abandons;
    private long evictions;

    PrefixCache(int blockCount) {
        this.index = new BlockHashIndex(blockCount);
        this.states = new byte[blockCount];
        this.hashes = new BlockHash[blockCount];
        this.depths = new int[blockCount];
        this.releaseTicks = new long[blockCount];
        this.prev = new int[blockCount];
        this.next = new int[blockCount];
    }

    // ---- read side ----

    public State state(int block) {
        return STATES[states[block]];
    }

    /** The hash a {@code PENDING} or {@code READY} block is cached under; {@code null} otherwise. */
    public BlockHash hashOf(int block) {
        return hashes[block];
    }

    /**
     * The block cached under {@code hash} ({@code PENDING} or {@code READY}), or
     * {@link KvBlockPool#NO_BLOCK}. Takes no reference.
     */
    public int find(BlockHash hash) {
        return index.get(hash);
    }

    /** Blocks cached and written, referenced or not. */
    public int readyBlockCount() {
        return readyCount;
    }

    /** Blocks claimed and still being computed. */
    public int pendingBlockCount() {
        return pendingCount;
    }

    /** Unreferenced {@code READY} blocks: what {@code allocate()} evicts once the free queue is empty. */
    public int evictableBlockCount() {
        return evictableCount;
    }

    /** Calls of {@link KvBlockPool#match}. */
    public long lookups() {
        return lookups;
    }

    /** Blocks found by {@link KvBlockPool#match}, ready or pending. */
    public long hitBlocks() {
        return hitBlocks;
    }

    /** The part of {@link #hitBlocks()} that was still pending when matched. */
    public long pendingHitBlocks() {
        return pendingHitBlocks;
    }

    /** Hashes asked for by {@link KvBlockPool#match} and not matched (everything after the first miss). */
    public long missBlocks() {
        return missBlocks;
    }

    /** Blocks that became {@code READY}: a first publish, or the publish of a claimed block. */
    public long publishes() {
        return publishes;
    }

    /** Publishes refused because another block already held the hash (first writer wins). */
    public long duplicatePublishes() {
        return duplicatePublishes;
    }

    /** Successful claims. */
    public long claims() {
        return claims;
    }

    /** Claims dropped before they were published: {@link KvBlockPool#abandon}, or the last reference released. */
    public long abandons() {
        return abandons;
    }

    /** Cached blocks evicted for reuse. */
    public long evictions() {
        return evictions;
    }

    // ---- called by KvBlockPool, which has checked the block id and that the caller holds it ----

    boolean claim(BlockHash hash, int block, int depth) {
        checkDepth(depth);
        if (states[block] != B_UNCACHED) {
            throw new EngineException("block " + block + " cannot be claimed: it is " + state(block));
        }
        if (index.putIfAbsent(hash, block) != BlockHashIndex.ABSENT) {
            return false;
        }
        states[block] = B_PENDING;
        hashes[block] = hash;
        depths[block] = depth;
        pendingCount++;
        claims++;
        return true;
    }

    boolean publish(int block, BlockHash hash, int depth) {
        checkDepth(depth);
        switch (states[block]) {
            case B_UNCACHED -> {
                if (index.putIfAbsent(hash, block) != BlockHashIndex.ABSENT) {
                    duplicatePublishes++;
                    return false;
                }
                hashes[block] = hash;
                depths[block] = depth;
            }
            case B_PENDING -> {
                checkSameEntry(block, hash, depth);
                pendingCount--;
            }
            case B_READY -> {
                checkSameEntry(block, hash, depth);
                return true;
            }
            default -> throw new EngineException("block " + block + " cannot be published: its claim was abandoned");
        }
        states[block] = B_READY;
        readyCount++;
        publishes++;
        return true;
    }

    void abandon(int block) {
        if (states[block] != B_PENDING) {
            throw new EngineException("block " + block + " cannot be abandoned: it is " + state(block) + ", not PENDING");
        }
        dropClaim(block);
        states[block] = B_ABANDONED;
    }

    void recordLookup(int asked, int matched, int pendingMatched) {
        lookups++;
        hitBlocks += matched;
        pendingHitBlocks += pendingMatched;
        missBlocks += asked - matched;
    }

    /** A tick for one release call; see the class comment. */
    long nextTick() {
        return ++clock;
    }

    /**
     * The pool dropped the last reference to {@code block} at {@code tick}.
     *
     * @return true if the block stays cached (now evictable), false if it goes to the free queue
     */
    boolean onUnreferenced(int block, long tick) {
        switch (states[block]) {
            case B_READY -> {
                releaseTicks[block] = tick;
                insertEvictable(block);
                return true;
            }
            case B_PENDING -> dropClaim(block);
            default -> { }
        }
        states[block] = B_UNCACHED;
        return false;
    }

    /** A match took the first reference to an evictable block. */
    void onReferenced(int block) {
        if (states[block] != B_READY) {
            throw new IllegalStateException("unreferenced block " + block + " is " + state(block) + ", not READY");
        }
        unlink(block);
    }

    /** The next eviction victim, or {@link KvBlockPool#NO_BLOCK} if nothing is evictable. */
    int oldestEvictable() {
        return head;
    }

    /**
     * Drops a {@code READY} block's hash ({@link KvBlockPool#clearPrefixCache()}); {@code unlink} when
     * it is unreferenced (in the eviction list), and the pool then returns it to the free queue.
     */
    void uncache(int block, boolean unlink) {
        if (unlink) {
            unlink(block);
        }
        index.remove(hashes[block]);
        hashes[block] = null;
        states[block] = B_UNCACHED;
        readyCount--;
    }

    /** Evicts {@code block} (the head of the list): unlinks it and drops its hash. */
    void evict(int block) {
        unlink(block);
        index.remove(hashes[block]);
        hashes[block] = null;
        states[block] = B_UNCACHED;
        readyCount--;
        evictions++;
    }

    // ---- internals ----

    private void dropClaim(int block) {
        index.remove(hashes[block]);
        hashes[block] = null;
        pendingCount--;
        abandons++;
    }

    private void insertEvictable(int block) {
        long tick = releaseTicks[block];
        int depth = depths[block];
        int after = tail;
        while (after != NIL && releaseTicks[after] == tick && depths[after] < depth) {
            after = prev[after];
        }
        int before = after == NIL ? head : next[after];
        prev[block] = after;
        next[block] = before;
        if (after == NIL) {
            head = block;
        } else {
            next[after] = block;
        }
        if (before == NIL) {
            tail = block;
        } else {
            prev[before] = block;
        }
        evictableCount++;
    }

    private void unlink(int block) {
        int p = prev[block];
        int n = next[block];
        if (p == NIL) {
            head = n;
        } else {
            next[p] = n;
        }
        if (n == NIL) {
            tail = p;
        } else {
            prev[n] = p;
        }
        evictableCount--;
    }

    private void checkSameEntry(int block, BlockHash hash, int depth) {
        if (!hashes[block].equals(hash) || depths[block] != depth) {
            throw new EngineException("block " + block + " is cached as " + hashes[block] + " at depth " + depths[block]
                    + ", cannot publish it as " + hash + " at depth " + depth);
        }
    }

    private static void checkDepth(int depth) {
        if (depth < 0) {
            throw new EngineException("block depth must be >= 0, got " + depth);
        }
    }
}
