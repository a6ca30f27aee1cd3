package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight tensor {@code [rows][cols]} left in the file mapping (never copied), with the matrix
 * product kernels for its type: F32, F16, BF16, Q8_0, Q4_0 and the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
 *
 * <p>{@link #matmul} computes {@code out[v][r] = dot(row r, input vector v)} for a row range and
 * every vector of an {@link InputBatch}. Quantized weights are multiplied with a quantized input,
 * as llama.cpp does ({@link #inputType()}): Q8_0 for Q8_0 and Q4_0, Q8_K for the K-quants.
 *
 * <p><b>Determinism</b>: each output element is bit-identical whatever the number of vectors in the
 * batch, the row range, the output offset and stride, and the thread: its reduction order is fixed
 * per (row, vector). Kernels that process several vectors or rows per pass keep each element's
 * own accumulation order.
 *
 * <p><b>Threading</b>: immutable and thread-safe; the kernels are single-threaded and allocation-free,
 * and a caller parallelizes by giving threads disjoint row ranges. The data stays valid while the
 * {@link dev.baton.engine.gguf.GgufFile} it came from is open.
 */
public abstract class WeightMatrix {

    final String name;
    final int rows;
    final int cols;
    final GgmlType type;
    final MemorySegment data;
    /** Bytes per row of the weight data. */
    final long rowBytes;

    WeightMatrix(GgufTensorInfo t) {
        this.name = t.name();
        this.type = t.type();
        this.cols = (int) t.dims()[0];
        this.rows = (int) t.dims()[1];
        this.data = t.data();
        this.rowBytes = type.byteSize(cols);
    }

    /** The matrix for tensor {@code t} with the {@link KernelMode#defaultMode() default kernels}. */
    public static WeightMatrix of(GgufTensorInfo t) {
        return of(t, KernelMode.defaultMode());
    }

    /**
     * The matrix for tensor {@code t} with the given kernels.
     *
     * @throws UnsupportedTensorException for a type other than F32, F16, BF16, Q8_0, Q4_0 and Q2_K .. Q6_K, a tensor
     *     that is not 2-D, or a row that is not a whole number of blocks
     * @throws IllegalArgumentException if the data is not {@code rows * rowBytes} long, or VECTOR is
     *     asked for where the Vector API is not usable
     */
    public static WeightMatrix of(GgufTensorInfo t, KernelMode mode) {
        GgmlType type = t.type();
        if (!type.supported) {
            throw new UnsupportedTensorException(t.name(), type,
                    "no matrix kernels for this type (supported: F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
        }
        long[] dims = t.dims();
        if (dims.length != 2) {
            throw new UnsupportedTensorException(t.name(), type,
                    "a weight matrix must be 2-D, this tensor has " + dims.length + " dimensions");
        }
        if (dims[0] > Integer.MAX_VALUE - 64 || dims[1] > Integer.MAX_VALUE) {
            throw new UnsupportedTensorException(t.name(), type,
                    "dimensions " + dims[0] + " x " + dims[1] + " exceed the int range");
        }
        if (dims[0] % type.blockSize != 0) {
            throw new UnsupportedTensorException(t.name(), type,
                    "row length " + dims[0] + " is not a multiple of the block size " + type.blockSize);
        }
        long expected = type.byteSize(dims[0]) * dims[1];
        if (t.data().byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': data is " + t.data().byteSize()
                    + " bytes, " + dims[1] + " rows of " + dims[0] + " " + type + " take " + expected);
        }
        if (mode == KernelMode.VECTOR) {
            if (!KernelMode.vectorAvailable()) {
                throw new IllegalArgumentException("tensor '" + t.name() + "': VECTOR kernels asked for, but the"
                        + " Vector API is not usable (run with --add-modules jdk.incubator.vector on AVX2 or AVX-512)");
            }
            return VectorKernels.matrix(t);
        }
        return switch (type) {
            case F32 -> new F32Matrix(t);
            case F16 -> new F16Matrix(t);
            case BF16 -> new Bf16Matrix(t);
            case Q8_0 -> new Q8Matrix(t);
            case Q4_0 -> new Q4Matrix(t);
            case Q2_K -> new Q2KMatrix(t);
            case Q3_K -> new Q3KMatrix(t);
            case Q4_K -> new Q4KMatrix(t);
            case Q5_K -> new Q5KMatrix(t);
            case Q6_K -> new Q6KMatrix(t);
            default -> throw new AssertionError(type);
        };
    }

    /** The input format dot products with weights of {@code weightType} read (llama.cpp's vec_dot_type). */
    public static GgmlType inputTypeFor(GgmlType weightType) {
        return switch (weightType) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            case Q8_0, Q4_0 -> GgmlType.Q8_0;
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> GgmlType.Q8_K;
            default -> throw new IllegalArgumentException("no matrix kernels for type " + weightType);
        };
    }

    public final String name() {
        return name;
    }

    public final int rows() {
        return rows;
    }

    public final int cols() {
        return cols;
    }

    public final GgmlType type() {
        return type;
    }

    /** The format dot products read the input in, as llama.cpp's vec_dot_type: F32->F32, F16->F16, BF16->BF16, Q8_0/Q4_0->Q8_0, Q2_K..Q6_K->Q8_K. */
    public final GgmlType inputType() {
        return inputTypeFor(type);
    }

    /** Which kernels this matrix runs. */
    public abstract KernelMode mode();

    /**
     * {@code out[outOffset + v*outStride + r] = dot(row r, input vector v)} for {@code r} in
     * {@code [rowStart, rowEnd)} and {@code v} in {@code [0, in.vectorCount())}. Single-threaded,
     * allocation-free; see the class comment for determinism.
     *
     * @throws IllegalArgumentException if the batch's cols or input type do not match, the row range
     *     is not within {@code [0, rows]}, or the output does not fit in {@code out}
     */
    public abstract void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd);

    /** Dequantizes row {@code row} into {@code dst[dstOffset .. + cols)}, exactly as ggml's dequantize (token embedding lookup). */
    public abstract void readRow(int row, float[] dst, int dstOffset);

    /**
     * Every element of a 2-D tensor of any supported type as floats, decoded as the kernels read it (the K-quants
     * bit-exactly as ggml does): to compare a quantized model with its float form.
     */
    public static float[] dequantizeAll(GgufTensorInfo t) {
        WeightMatrix m = of(t, KernelMode.SCALAR);
        float[] out = new float[Math.multiplyExact(m.rows(), m.cols())];
        for (int r = 0; r < m.rows(); r++) {
            m.readRow(r, out, r * m.cols());
        }
        return out;
    }

    final void checkMatmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        if (in.cols() != cols || in.inputType() != inputType()) {
            throw new IllegalArgumentException("matrix '" + name + "' (" + rows + " x " + cols + " " + type
                    + ") needs input of " + cols + " " + inputType() + ", the batch holds " + in.cols() + " "
                    + in.inputType());
        }
        if (rowStart < 0 || rowEnd > rows || rowStart > rowEnd) {
            throw new IllegalArgumentException("matrix '" + name + "': row range [" + rowStart + ", " + rowEnd
                    + ") is not within [0, " + rows + "]");
        }
        int n = in.vectorCount();
        if (rowStart < rowEnd && (outOffset < 0 || (n > 1 && outStride < 0)
                || (long) outOffset + (long) (n - 1) * outStride + rowEnd > out.length)) {
            throw new IllegalArgumentException("matrix '" + name + "': output of " + n + " vectors at offset "
                    + outOffset + " stride " + outStride + " for rows up to " + rowEnd + " does not fit in out["
                    + out.length + "]");
        }
    }

    final void checkRow(int row, float[] dst, int dstOffset) {
        if (row < 0 || row >= rows) {
            throw new IllegalArgumentException("matrix '" + name + "': row " + row + " is outside [0, " + rows + ")");
        }
        if (dstOffset < 0 || (long) dstOffset + cols > dst.length) {
            throw new IllegalArgumentException("matrix '" + name + "': row of " + cols + " at offset " + dstOffset
                    + " does not fit in dst[" + dst.length + "]");
        }
    }

    @Override
    public String toString() {
        return name + " [" + rows + " x " + cols + " " + type + ", " + mode() + "]";
    }
}
