package dev.baton.engine.testing;

import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads a sequence's KV bytes position by position (only positions it holds, in a fixed order). */
public final class Kv {

    private Kv() {}

    /** For each position, layer, K then V, head: the head's bytes. */
    public static byte[] bytes(KvSequence seq) {
        KvBlockPool pool = seq.pool();
        KvCacheSpec spec = pool.spec();
        int run = spec.rowBytes();
        byte[] out = new byte[seq.length() * spec.layerCount() * 2 * spec.kvHeadCount() * run];
        MemorySegment dst = MemorySegment.ofArray(out);
        long o = 0;
        for (int p = 0; p < seq.length(); p++) {
            long base = pool.blockOffset(seq.blockTable()[p / spec.blockSize()]);
            for (int l = 0; l < spec.layerCount(); l++) {
                for (int kv = 0; kv < 2; kv++) {
                    for (int h = 0; h < spec.kvHeadCount(); h++) {
                        MemorySegment.copy(pool.memory(), base + spec.offsetInBlock(l, kv == 1, h, p % spec.blockSize()),
                                dst, o, run);
                        o += run;
                    }
                }
            }
        }
        return out;
    }

    public static byte[] floatsToBytes(float[] a, int from, int to) {
        byte[] out = new byte[(to - from) * 4];
        MemorySegment.copy(a, from, MemorySegment.ofArray(out), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, to - from);
        return out;
    }
}
