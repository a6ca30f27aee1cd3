package dev.baton.engine.kv;

import dev.baton.common.BlockHash;

/**
 * Sees what the node prefix cache of a {@link KvBlockPool} holds change, block by block: the events
 * the cluster's KV index is built from (docs/design.md §6: {@code Stored}, {@code Removed}, {@code Cleared}).
 * Set with {@link KvBlockPool#setEventListener}.
 *
 * <p>Called on the pool's owning thread (the engine loop), in the order the changes happen, while
 * the pool is in the middle of an operation: an implementation must not block, must not throw, and
 * must not change the pool. The hashes are the pool's own immutable objects; nothing is allocated
 * per call. A hash is reported {@code Stored} once when its block becomes readable by other requests
 * and {@code Removed} once when that stops; pending claims (blocks still being computed) are not
 * reported.
 */
public interface KvEventListener {

    /**
     * A block was published: its KV is written and cached under {@code hash}, at index {@code depth}
     * of its hash chain (0 for a prompt's first block).
     */
    void onStored(BlockHash hash, int depth);

    /** The block cached under {@code hash} was evicted for reuse: the node no longer holds it. */
    void onRemoved(BlockHash hash);

    /** Every cached hash was dropped at once ({@link KvBlockPool#clearPrefixCache()}). */
    void onCleared();
}
