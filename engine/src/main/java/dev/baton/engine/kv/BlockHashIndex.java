package dev.baton.engine.kv;

import dev.baton.common.BlockHash;
import java.util.Arrays;

/**
 * A fixed-capacity map from {@link BlockHash} to block id, with open addressing (linear probing)
 * over parallel primitive arrays, so lookups, inserts and removals allocate nothing.
 *
 * <p>It never resizes: the prefix cache maps at most one hash per block, so {@code maxEntries} is the
 * pool's block count and the table is sized to keep the load factor at or below 1/2. Removal shifts
 * later entries of the probe run back (no tombstones), so probe runs stay short however long the
 * pool lives.
 *
 * <p>Not thread-safe: owned by the thread that owns the {@link KvBlockPool}.
 */
final class BlockHashIndex {

    /** Returned by {@link #get} for a hash that is not mapped; also marks an empty slot. */
    static final int ABSENT = KvBlockPool.NO_BLOCK;

    private final long[] his;
    private final long[] los;
    private final int[] values;
    private final int mask;
    private final int shift;
    private final int maxEntries;
    private int size;

    BlockHashIndex(int maxEntries) {
        if (maxEntries < 1 || maxEntries > 1 << 28) {
            throw new IllegalArgumentException("maxEntries must be 1.." + (1 << 28) + ", got " + maxEntries);
        }
        int capacity = Integer.highestOneBit(maxEntries) << 2; // > 2 * maxEntries
        this.his = new long[capacity];
        this.los = new long[capacity];
        this.values = new int[capacity];
        Arrays.fill(values, ABSENT);
        this.mask = capacity - 1;
        this.shift = 64 - Integer.numberOfTrailingZeros(capacity);
        this.maxEntries = maxEntries;
    }

    int size() {
        return size;
    }

    /** The block mapped to {@code hash}, or {@link #ABSENT}. */
    int get(BlockHash hash) {
        long hi = hash.hi();
        long lo = hash.lo();
        for (int i = home(hi, lo);; i = (i + 1) & mask) {
            int v = values[i];
            if (v == ABSENT || (his[i] == hi && los[i] == lo)) {
                return v;
            }
        }
    }

    /**
     * Maps {@code hash} to {@code block} unless it is already mapped.
     *
     * @return {@link #ABSENT} if the mapping was added, else the block already mapped (nothing changed)
     */
    int putIfAbsent(BlockHash hash, int block) {
        if (block < 0) {
            throw new IllegalArgumentException("block id must not be negative, got " + block);
        }
        long hi = hash.hi();
        long lo = hash.lo();
        int i = home(hi, lo);
        for (; values[i] != ABSENT; i = (i + 1) & mask) {
            if (his[i] == hi && los[i] == lo) {
                return values[i];
            }
        }
        if (size == maxEntries) {
            throw new IllegalStateException("block hash index is full (" + maxEntries + " entries)");
        }
        his[i] = hi;
        los[i] = lo;
        values[i] = block;
        size++;
        return ABSENT;
    }

    /** Removes the mapping of {@code hash}; returns the block it mapped to, or {@link #ABSENT}. */
    int remove(BlockHash hash) {
        long hi = hash.hi();
        long lo = hash.lo();
        int i = home(hi, lo);
        for (; values[i] != ABSENT; i = (i + 1) & mask) {
            if (his[i] == hi && los[i] == lo) {
                int removed = values[i];
                shiftBack(i);
                size--;
                return removed;
            }
        }
        return ABSENT;
    }

    /**
     * Empties slot {@code gap}, moving back every later entry of its probe run that may not sit past
     * the gap (its home slot is not cyclically inside {@code (gap, j]}).
     */
    private void shiftBack(int gap) {
        values[gap] = ABSENT;
        for (int j = (gap + 1) & mask; values[j] != ABSENT; j = (j + 1) & mask) {
            int home = home(his[j], los[j]);
            boolean staysPut = gap <= j ? (gap < home && home <= j) : (gap < home || home <= j);
            if (!staysPut) {
                his[gap] = his[j];
                los[gap] = los[j];
                values[gap] = values[j];
                values[j] = ABSENT;
                gap = j;
            }
        }
    }

    private int home(long hi, long lo) {
        // Fibonacci hashing of both halves: block hashes are uniform already, test hashes need not be.
        return (int) (((hi * 0x9E3779B97F4A7C15L) ^ lo) * 0xC2B2AE3D27D4EB4FL >>> shift) & mask;
    }
}
