package dev.baton.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What {@link CudaBackend} needs of a GPU: memory, copies in and out, kernel launches by name. {@link CudaDevice}
 * is a real one, through CUDA's driver API. One owner at a time.
 */
public interface Gpu extends AutoCloseable {

    CudaDevice.Info info();

    /** Makes this GPU's context the calling thread's (a CUDA context is current per thread). */
    void makeCurrent();

    /** {@code bytes} of device memory, zeroed; freed with the GPU. */
    DeviceMemory alloc(long bytes);

    default DeviceMemory upload(float[] a) {
        DeviceMemory m = alloc(4L * a.length);
        copy(m, a, a.length);
        return m;
    }

    default DeviceMemory upload(int[] a) {
        DeviceMemory m = alloc(4L * a.length);
        copy(m, a, a.length);
        return m;
    }

    default DeviceMemory upload(byte[] a) {
        DeviceMemory m = alloc(a.length);
        copy(m, 0, MemorySegment.ofArray(a));
        return m;
    }

    /** Device memory holding {@code src}'s bytes (a tensor of the file mapping). */
    default DeviceMemory upload(MemorySegment src) {
        DeviceMemory m = alloc(src.byteSize());
        copy(m, 0, src);
        return m;
    }

    /** Copies {@code src} (host memory: a mapping, the KV pool, an array) to {@code dst + offset}. */
    void copy(DeviceMemory dst, long offset, MemorySegment src);

    void copy(DeviceMemory dst, int[] src, int count);

    void copy(DeviceMemory dst, float[] src, int count);

    void download(float[] dst, DeviceMemory src, int count);

    void download(int[] dst, DeviceMemory src, int count);

    void download(byte[] dst, DeviceMemory src, long count);

    /**
     * Launches {@code l} with arguments in the kernel's order: a {@link DeviceMemory} (or null for a null pointer),
     * an Integer, Long, Float or Double, or a byte[] for a struct passed by value.
     */
    void launch(Launch l, Object... args);

    /** A launch of {@code kernel} with {@code argCount} arguments, prepared for repeated use (see {@link KernelCall}). */
    KernelCall prepare(String kernel, int argCount);

    /** Waits for every launch and copy to finish. */
    void synchronize();

    @Override
    void close();
}
