package dev.baton.cuda;

/**
 * A buffer in a {@link Gpu}'s memory: {@code bytes} long, {@code handle} what the GPU knows it by (a JCuda
 * {@code CUdeviceptr} on a real device). Kernel arguments and copies name buffers by these.
 */
public final class DeviceMemory {

    private final long bytes;
    private final Object handle;

    DeviceMemory(long bytes, Object handle) {
        this.bytes = bytes;
        this.handle = handle;
    }

    public long bytes() {
        return bytes;
    }

    Object handle() {
        return handle;
    }
}
