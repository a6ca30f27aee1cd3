package dev.baton.cuda;

import dev.baton.engine.kv.KvCacheSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The {@code KvGeometry} struct the RoPE/KV-write and attention kernels take by value: the CPU's block layout
 * ({@link KvCacheSpec}) in bytes, and the length of a block-table row. Layout (little-endian, 8-byte aligned):
 * {@code long blockBytes, layerBytes, headRunBytes; int rowBytes, blockSize, maxBlocks; 4 bytes of padding}.
 */
public final class KvGeometry {

    /** The struct's size, as nvcc lays it out (checked against the PTX by KernelImageTest). */
    public static final int BYTES = 40;

    private KvGeometry() {}

    public static byte[] of(KvCacheSpec spec, int maxBlocks) {
        ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(spec.blockBytes()).putLong(spec.layerBytes()).putLong(spec.headRunBytes());
        b.putInt(spec.rowBytes()).putInt(spec.blockSize()).putInt(maxBlocks).putInt(0);
        return b.array();
    }
}
