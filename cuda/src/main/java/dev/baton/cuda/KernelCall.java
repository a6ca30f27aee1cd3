package dev.baton.cuda;

/**
 * A kernel launch prepared once ({@link Gpu#prepare}): its arguments are set in place and it is launched again and
 * again without allocating, the way {@link CudaBackend} runs each step. Arguments in the kernel's order; a pointer
 * argument is usually set once, the sizes that change with the batch before each launch. Set each index with the
 * Java type of the kernel's parameter ({@code long} for a C {@code long}, {@code double} for a {@code double}).
 */
public interface KernelCall {

    /** A pointer argument ({@code null}: a null pointer). */
    KernelCall set(int index, DeviceMemory m);

    KernelCall set(int index, int v);

    KernelCall set(int index, long v);

    KernelCall set(int index, float v);

    KernelCall set(int index, double v);

    /** A struct passed by value, as its bytes. */
    KernelCall set(int index, byte[] struct);

    /** Launches with a one-dimensional block of {@code block} threads. */
    void launch(int gridX, int gridY, int gridZ, int block);
}
