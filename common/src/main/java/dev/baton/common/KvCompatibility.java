package dev.baton.common;

import java.util.ArrayList;
import java.util.List;

/**
 * The compatibility tuple of docs/design.md §5: KV bytes move between two engines only when every field
 * is equal. A receiver checks it before it accepts a byte and refuses a mismatch with
 * {@link #mismatch(KvCompatibility)}'s reason.
 *
 * @param model           fingerprint of the model file the KV was computed with
 * @param dtype           element type of the KV cache ("F32", "F16" or "Q8_0")
 * @param blockSize       positions per block
 * @param layout          name of the byte layout inside a block
 * @param protocolVersion version of the KV format / transfer protocol
 */
public record KvCompatibility(
        ModelFingerprint model,
        String dtype,
        int blockSize,
        String layout,
        int layerCount,
        int kvHeadCount,
        int headDim,
        int protocolVersion) {

    /** The version written by this build. */
    public static final int PROTOCOL_VERSION = 1;

    /** Null when {@code other} is compatible with this, else a reason naming every differing field. */
    public String mismatch(KvCompatibility other) {
        List<String> diffs = new ArrayList<>();
        diff(diffs, "protocol version", protocolVersion, other.protocolVersion);
        diff(diffs, "model fingerprint", model, other.model);
        diff(diffs, "KV dtype", dtype, other.dtype);
        diff(diffs, "block size", blockSize, other.blockSize);
        diff(diffs, "layout", layout, other.layout);
        diff(diffs, "layer count", layerCount, other.layerCount);
        diff(diffs, "KV head count", kvHeadCount, other.kvHeadCount);
        diff(diffs, "head dim", headDim, other.headDim);
        return diffs.isEmpty() ? null : "incompatible KV: " + String.join(", ", diffs);
    }

    private static void diff(List<String> out, String name, Object mine, Object theirs) {
        if (!mine.equals(theirs)) {
            out.add(name + " " + theirs + " (expected " + mine + ")");
        }
    }
}
