package dev.baton.engine.kv;

import dev.baton.common.BlockHash;
import java.lang.foreign.MemorySegment;

/**
 * A second store of KV blocks under a node's {@link KvBlockPool}, keyed by block hash: on a node
 * process, the host tier that every node on the host shares (docs/design.md §6). The engine loop stores each
 * cached block the pool evicts, and reads a prompt's blocks back from it instead of computing them.
 * The engine sees only this interface; the node process adapts the real store to it.
 *
 * <p>Blocks are whole KV blocks of {@link KvCacheSpec#blockBytes()} bytes. An implementation keeps
 * blocks only for one compatibility tuple (model, dtype, block size, layout): the one of the engine
 * whose loop uses it, so that a block read back is valid for that engine.
 *
 * <p>Threading: called on the engine loop's thread; an instance shared by several loops must be
 * thread-safe. Neither method may retain the segment it is given. Normal outcomes are return values;
 * an exception means the tier is broken, and the loop stops using it.
 */
public interface KvTier {

    /**
     * Copies the block stored under {@code hash} into {@code dst} (exactly one block), verified against
     * the checksum it was stored with.
     *
     * @return true when {@code dst} now holds the stored bytes; false when there is no such block, or
     *         its bytes failed their check (the contents of {@code dst} are then unspecified)
     */
    boolean load(BlockHash hash, MemorySegment dst);

    /**
     * Stores a copy of {@code src} (exactly one block) under {@code hash}, making room by evicting
     * other blocks if the tier is full.
     *
     * @return true when the tier holds the block afterwards (stored now, or already there); false when
     *         it could not be stored
     */
    boolean store(BlockHash hash, MemorySegment src);
}
