package dev.baton.engine.gguf;

import java.lang.foreign.MemorySegment;

/**
 * One tensor of a GGUF file. {@code dims[0]} is the innermost (contiguous) dimension, as in GGML:
 * a 2-D weight matrix with {@code dims = [cols, rows]} stores {@code rows} rows of {@code cols}
 * elements. {@code data} is a read-only slice of the file mapping, valid while the file is open.
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offsetBytes, MemorySegment data) {

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Elements per row (the innermost dimension). */
    public long cols() {
        return dims[0];
    }

    /** Number of rows: the product of every dimension but the innermost. */
    public long rows() {
        return dims.length == 0 ? 0 : elementCount() / dims[0];
    }

    public long byteSize() {
        return data.byteSize();
    }
}
