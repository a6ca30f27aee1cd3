package dev.baton.engine.kv;

import dev.baton.engine.EngineException;
import dev.baton.engine.gguf.GgmlType;

/**
 * The shape of a KV block. A block holds {@code blockSize} positions of one sequence for every layer:
 *
 * <pre>
 *   block = layer[0] | layer[1] | ... | layer[L-1]
 *   layer = K | V
 *   K, V  = kvHead[0] | ... | kvHead[H-1]
 *   head  = position[0] | ... | position[B-1]
 *   position = headDim elements of {@code dtype}, little-endian
 * </pre>
 *
 * so one (layer, K|V, head) run of a block is {@code blockSize * headDim} contiguous elements.
 */
public record KvCacheSpec(int layerCount, int kvHeadCount, int headDim, int blockSize, GgmlType dtype) {

    public KvCacheSpec {
        if (dtype != GgmlType.F32 && dtype != GgmlType.F16) {
            throw new EngineException("KV cache dtype must be F32 or F16, not " + dtype);
        }
        if (blockSize < 1 || blockSize > 1024) {
            throw new EngineException("KV block size must be 1..1024 tokens, got " + blockSize);
        }
        if (layerCount < 1 || kvHeadCount < 1 || headDim < 1) {
            throw new EngineException("KV cache geometry must be positive: layers " + layerCount + ", kv heads "
                    + kvHeadCount + ", head dim " + headDim);
        }
    }

    /** The name of this layout in the compatibility tuple of KV transfers. */
    public static final String LAYOUT = "layer/kv/head/position/dim";

    public int elementBytes() {
        return dtype == GgmlType.F32 ? 4 : 2;
    }

    /** Bytes of one (layer, K|V, head) run: {@code blockSize * headDim} elements. */
    public long headRunBytes() {
        return (long) blockSize * headDim * elementBytes();
    }

    public long layerBytes() {
        return 2L * kvHeadCount * headRunBytes();
    }

    public long blockBytes() {
        return layerCount * layerBytes();
    }

    /** Byte offset, inside a block, of {@code (layer, value ? V : K, head, slot)}. */
    public long offsetInBlock(int layer, boolean value, int head, int slot) {
        return layer * layerBytes() + ((value ? kvHeadCount : 0) + head) * headRunBytes()
                + (long) slot * headDim * elementBytes();
    }
}
