package dev.baton.engine.kv;

import java.util.Arrays;

/**
 * One sequence's view of the KV pool: its block table and how many positions hold computed KV.
 *
 * <p>Position {@code p} lives in block {@code blockTable()[p / blockSize]} at slot {@code p % blockSize}.
 * Not thread-safe: owned by the engine loop, read by forward-pass workers during a step.
 */
public final class KvSequence {

    private final KvBlockPool pool;
    private int[] blocks = new int[8];
    private int blockCount;
    private int length;
    private int holeCount;

    public KvSequence(KvBlockPool pool) {
        this.pool = pool;
    }

    public KvBlockPool pool() {
        return pool;
    }

    /** The block table; entries {@code [0, blockCount())} are valid. Not a copy. */
    public int[] blockTable() {
        return blocks;
    }

    public int blockCount() {
        return blockCount;
    }

    /** Positions whose KV has been computed (or imported). */
    public int length() {
        return length;
    }

    public void setLength(int positions) {
        if (positions < 0 || positions > capacity()) {
            throw new IllegalArgumentException("length " + positions + " outside 0.." + capacity());
        }
        length = positions;
    }

    /** Positions the held blocks can store. */
    public int capacity() {
        return blockCount * pool.spec().blockSize();
    }

    /** Blocks still needed to hold {@code positions} positions. */
    public int blocksNeeded(int positions) {
        int bs = pool.spec().blockSize();
        return Math.max(0, (positions + bs - 1) / bs - blockCount);
    }

    /**
     * Allocates blocks until {@code positions} positions fit. All or nothing: if the pool runs out,
     * the blocks taken by this call are returned and a {@link KvPoolExhaustedException} is thrown.
     */
    public void reserve(int positions) {
        int need = blocksNeeded(positions);
        if (need == 0) {
            return;
        }
        if (need > pool.freeBlockCount()) {
            throw new KvPoolExhaustedException("KV pool exhausted: " + positions + " positions need " + need
                    + " more blocks, " + pool.freeBlockCount() + " of " + pool.blockCount() + " are free");
        }
        for (int i = 0; i < need; i++) {
            appendBlock(pool.allocate());
        }
    }

    /**
     * Starts an empty sequence with {@code count} full blocks of a cached prefix, as returned by
     * {@link KvBlockPool#match}: appends {@code blocks[0, count)} and sets the length to
     * {@code count * blockSize}. Takes over the references the match took (takes none of its own); the
     * sequence computes on from the next block, so it never writes into a shared block. Blocks that
     * were matched {@code PENDING} must be ready before this sequence is stepped.
     *
     * @throws IllegalStateException if the sequence already holds blocks
     */
    public void adoptPrefix(int[] blocks, int count) {
        if (blockCount != 0 || length != 0) {
            throw new IllegalStateException("a prefix can only be adopted by an empty sequence, this one holds "
                    + blockCount + " blocks and " + length + " positions");
        }
        if (count < 0 || count > blocks.length) {
            throw new IllegalArgumentException("count " + count + " outside 0.." + blocks.length);
        }
        for (int i = 0; i < count; i++) {
            appendBlock(blocks[i]);
        }
        length = count * pool.spec().blockSize();
    }

    /**
     * Releases the block at {@code index} and leaves a hole ({@link KvBlockPool#NO_BLOCK}) in the
     * table: for a shared prefix block that will never be written (its computing request stopped),
     * which must be found again or computed in a new block ({@link #fillBlock}). Only blocks past
     * the computed positions can be dropped, and a sequence must not be stepped over a hole.
     *
     * @throws IllegalStateException if the index is a hole, outside the table, or holds computed positions
     */
    public void dropBlock(int index) {
        if (index < 0 || index >= blockCount || blocks[index] == KvBlockPool.NO_BLOCK
                || (long) index * pool.spec().blockSize() < length) {
            throw new IllegalStateException("cannot drop block " + index + " of a sequence of " + blockCount
                    + " blocks and " + length + " positions");
        }
        pool.release(blocks[index]);
        blocks[index] = KvBlockPool.NO_BLOCK;
        holeCount++;
    }

    /** Fills the hole at {@code index} with a block this sequence now holds a reference to. */
    public void fillBlock(int index, int block) {
        if (index < 0 || index >= blockCount || blocks[index] != KvBlockPool.NO_BLOCK) {
            throw new IllegalStateException("block " + index + " of the sequence is not a hole");
        }
        blocks[index] = block;
        holeCount--;
    }

    /** Entries of the block table left empty by {@link #dropBlock} and not filled yet. */
    public int holeCount() {
        return holeCount;
    }

    /** Appends a block this sequence now holds a reference to. */
    public void appendBlock(int block) {
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[blockCount++] = block;
    }

    /**
     * Returns every block to the pool in one {@link KvBlockPool#releaseAll} (cached blocks become
     * evictable together, deepest first); the sequence is empty afterwards. Safe to call twice.
     */
    public void free() {
        if (holeCount > 0) {
            int n = 0;
            for (int i = 0; i < blockCount; i++) {
                if (blocks[i] != KvBlockPool.NO_BLOCK) {
                    blocks[n++] = blocks[i];
                }
            }
            blockCount = n;
            holeCount = 0;
        }
        pool.releaseAll(blocks, blockCount);
        blockCount = 0;
        length = 0;
    }
}
