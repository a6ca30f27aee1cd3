package dev.baton.engine.tokenizer;

import java.util.Arrays;

/**
 * An open-addressing map from non-negative long keys to int values, without boxing: the BPE merge
 * ranks keyed by the two parts' ids. Filled once at construction, then read-only and thread-safe.
 */
final class LongIntMap {
    private static final long FREE = -1L;
    private final long[] keys;
    private final int[] values;
    private final int mask;

    LongIntMap(int expectedSize) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedSize) * 2 - 1) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, FREE);
    }

    /** Stores the value unless the key is already present (the first value wins). */
    void putIfAbsent(long key, int value) {
        int i = slot(key);
        while (keys[i] != FREE) {
            if (keys[i] == key) {
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
    }

    /** The value for {@code key}, or -1. */
    int get(long key) {
        int i = slot(key);
        while (keys[i] != FREE) {
            if (keys[i] == key) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
