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
 *   position = headDim elements of {@code dtype}, little-endian (Q8_0: headDim / 32 blocks of f16 d | i8 q[32])
 * </pre>
 *
 * so one (layer, K|V, head) run of a block is {@code blockSize} contiguous rows of {@link #rowBytes()}.
 */
public record KvCacheSpec(int layerCount, int kvHeadCount, int headDim, int blockSize, GgmlType dtype) {

    public KvCacheSpec {
        if (dtype != GgmlType.F32 && dtype != GgmlType.F16 && dtype != GgmlType.Q8_0) {
            throw new EngineException("KV cache dtype must be F32, F16 or Q8_0, not " + dtype);
        }
        if (dtype == GgmlType.Q8_0 && headDim % 32 != 0) {
            throw new EngineException("KV cache dtype Q8_0 needs a head dimension that is a multiple of 32 (its "
                    + "blocks), this model's is " + headDim + ": use F32 or F16");
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

    /** Bytes of one element: F32 and F16 only (Q8_0 has no per-element size: {@link #rowBytes()}). */
    public int elementBytes() {
        return switch (dtype) {
            case F32 -> 4;
            case F16 -> 2;
            default -> throw new IllegalStateException(dtype + " KV has blocks of 32 values, not elements of a size");
        };
    }

    /** Bytes of one position of one head: {@code headDim} values. */
    public int rowBytes() {
        return dtype == GgmlType.Q8_0 ? headDim / 32 * 34 : headDim * elementBytes();
    }

    /** Bytes of one (layer, K|V, head) run: {@code blockSize} rows. */
    public long headRunBytes() {
        return (long) blockSize * rowBytes();
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
                + (long) slot * rowBytes();
    }
}
