package dev.baton.engine.tokenizer;

import java.util.Arrays;

/** A growable list of ints: token ids and piece lengths while encoding. Not thread-safe. */
final class IntList {
    private int[] values;
    private int size;

    IntList(int initialCapacity) {
        values = new int[Math.max(4, initialCapacity)];
    }

    void add(int v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = v;
    }

    int get(int i) {
        return values[i];
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
