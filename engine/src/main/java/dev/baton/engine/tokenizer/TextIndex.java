package dev.baton.engine.tokenizer;

import java.util.Arrays;

/**
 * The ids of the vocabulary's texts, looked up by a range of a string without copying it out: the
 * merge loops test many candidate pieces per input character. Open addressing, filled once at
 * construction, then read-only and thread-safe.
 */
final class TextIndex {
    private final String[] keys;
    private final int[] ids;
    private final int mask;

    TextIndex(int expectedSize) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedSize) * 2 - 1) << 1;
        keys = new String[capacity];
        ids = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(ids, -1);
    }

    /** Adds {@code text} with {@code id} unless present; returns the id already there, or -1. */
    int putIfAbsent(String text, int id) {
        int i = spread(text.hashCode());
        while (keys[i] != null) {
            if (keys[i].equals(text)) {
                return ids[i];
            }
            i = (i + 1) & mask;
        }
        keys[i] = text;
        ids[i] = id;
        return -1;
    }

    /** The id of {@code s[from, to)}, or -1. */
    int get(String s, int from, int to) {
        int h = 0;
        for (int k = from; k < to; k++) {
            h = 31 * h + s.charAt(k); // String.hashCode over the range
        }
        int length = to - from;
        for (int i = spread(h); keys[i] != null; i = (i + 1) & mask) {
            String key = keys[i];
            if (key.length() == length && key.regionMatches(0, s, from, length)) {
                return ids[i];
            }
        }
        return -1;
    }

    int get(String s) {
        return get(s, 0, s.length());
    }

    private int spread(int h) {
        return (h ^ (h >>> 16)) * 0x9E3779B1 >>> 7 & mask;
    }
}
