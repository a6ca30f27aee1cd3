package dev.baton.kvtransfer.hosttier;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** Test blocks whose bytes are a function of their hash, so any reader can check them. */
final class Blocks {

    static final KvCompatibility COMPAT = new KvCompatibility(new ModelFingerprint(0x1234, 0x5678), "F32", 16,
            "layer[K|V][kvHead][pos][dim]", 2, 2, 32, KvCompatibility.PROTOCOL_VERSION);

    private Blocks() {
    }

    static BlockHash hash(String batch, int i) {
        return new BlockHash(batch.hashCode() * 0x9E3779B97F4A7C15L + 17, i * 0xC2B2AE3D27D4EB4FL + 31);
    }

    static void fill(MemorySegment block, BlockHash hash) {
        long n = block.byteSize() / 8;
        for (long i = 0; i < n; i++) {
            block.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, hash.lo() * (i + 1) ^ hash.hi());
        }
    }

    static boolean matches(MemorySegment block, BlockHash hash) {
        long n = block.byteSize() / 8;
        for (long i = 0; i < n; i++) {
            if (block.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i) != (hash.lo() * (i + 1) ^ hash.hi())) {
                return false;
            }
        }
        return true;
    }

    static HostTierSettings settings(Path dir, int slots, long blockBytes) {
        return HostTierSettings.of(dir, "test", slots * Slab.slotStride(blockBytes), blockBytes, COMPAT);
    }
}
