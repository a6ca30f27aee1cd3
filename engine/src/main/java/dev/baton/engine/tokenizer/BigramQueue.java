package dev.baton.engine.tokenizer;

import java.util.Arrays;

/**
 * The work queue of the merge loops: candidate merges of two adjacent symbols, lowest priority value
 * first and, on a tie, the leftmost (llama.cpp's {@code llm_bigram_bpe} / {@code llm_bigram_spm}
 * comparators). A binary heap over parallel arrays, reused across the words of one encode call.
 * Not thread-safe.
 */
final class BigramQueue {
    private double[] priority = new double[64];
    private int[] left = new int[64];
    private int[] right = new int[64];
    private int[] length = new int[64];
    private int[] heap = new int[64];
    private int entries;
    private int size;
    private int top;

    void clear() {
        entries = 0;
        size = 0;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Adds a candidate: merging symbols {@code l} and {@code r} whose joined text is {@code len} long. */
    void push(double prio, int l, int r, int len) {
        if (entries == priority.length) {
            int c = entries * 2;
            priority = Arrays.copyOf(priority, c);
            left = Arrays.copyOf(left, c);
            right = Arrays.copyOf(right, c);
            length = Arrays.copyOf(length, c);
            heap = Arrays.copyOf(heap, c);
        }
        int e = entries++;
        priority[e] = prio;
        left[e] = l;
        right[e] = r;
        length[e] = len;
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(e, heap[parent])) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = e;
    }

    /** Removes the first candidate; read it with {@link #left()}, {@link #right()}, {@link #length()}. */
    void pop() {
        top = heap[0];
        int last = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && before(heap[child + 1], heap[child])) {
                child++;
            }
            if (!before(heap[child], last)) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        if (size > 0) {
            heap[i] = last;
        }
    }

    int left() {
        return left[top];
    }

    int right() {
        return right[top];
    }

    int length() {
        return length[top];
    }

    private boolean before(int a, int b) {
        return priority[a] < priority[b] || (priority[a] == priority[b] && left[a] < left[b]);
    }
}
