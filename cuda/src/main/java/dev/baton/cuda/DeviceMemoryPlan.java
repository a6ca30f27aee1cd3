package dev.baton.cuda;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.model.ModelConfig;
import java.util.Collection;

/**
 * Where a node's GPU memory goes: the weights as stored in the GGUF file (uploaded once), the activation and
 * split-K workspace for the pass's batch limits, a reserve for the context, the loaded module and the allocator,
 * and the KV block pool in what is left (or the size asked for). Refuses, naming the numbers, a model that does
 * not fit, a tensor type the kernels cannot read, or a KV pool larger than what is left.
 *
 * @param deviceBytes    the device's memory
 * @param usableBytes    the part Baton may use ({@code deviceBytes * utilization})
 * @param weightBytes    every tensor, as stored
 * @param workspaceBytes activations, logits, probabilities, split-K partials, the batch's index arrays
 * @param reserveBytes   context, module, allocator slack
 * @param kvBlocks       KV blocks of {@code kv.blockBytes()} each
 */
public record DeviceMemoryPlan(long deviceBytes, long usableBytes, long weightBytes, long workspaceBytes,
        long reserveBytes, KvCacheSpec kv, int kvBlocks) {

    /** What the context, the module and the allocator take beyond Baton's own buffers. */
    public static final long DEFAULT_RESERVE = 512L << 20;

    /** The batch limits of the forward pass the workspace is sized for. */
    public record Limits(int maxTokens, int maxSequences, int maxLogitRows) {}

    /**
     * @param kvBytes     the KV pool's size, or 0 for all that is left
     * @param utilization the share of the device Baton may use, in (0, 1]
     */
    public static DeviceMemoryPlan of(ModelConfig c, Collection<GgufTensorInfo> tensors, KvCacheSpec kv, Limits limits,
            long deviceBytes, long kvBytes, double utilization, long reserveBytes) {
        if (!(utilization > 0 && utilization <= 1)) {
            throw new IllegalArgumentException("GPU memory utilization " + utilization + " is not in (0, 1]");
        }
        LaunchGeometry.kvSuffix(kv.dtype()); // refuses a KV type the kernels do not keep
        if (kv.layerCount() != c.layerCount() || kv.kvHeadCount() != c.kvHeadCount() || kv.headDim() != c.headDim()) {
            throw new IllegalArgumentException("KV cache spec " + kv + " does not match the model");
        }
        long weights = 0;
        for (GgufTensorInfo t : tensors) {
            if (t.dims().length >= 2 && t.type() != GgmlType.F32) {
                try {
                    LaunchGeometry.weightSuffix(t.type());
                } catch (CudaUnavailableException e) {
                    throw new CudaUnavailableException("tensor " + t.name() + ": " + e.getMessage());
                }
            }
            weights += t.byteSize();
        }
        long workspace = workspaceBytes(c, kv, limits);
        long usable = (long) (deviceBytes * utilization);
        long left = usable - weights - workspace - reserveBytes;
        long needOne = kv.blockBytes();
        if (left < needOne) {
            throw new CudaUnavailableException(String.format(
                    "the model does not fit the GPU: %s of weights, %s of workspace and %s reserved need more than the %s"
                            + " Baton may use (%.0f%% of %s), with room for at least one KV block of %s",
                    gib(weights), gib(workspace), gib(reserveBytes), gib(usable), utilization * 100, gib(deviceBytes),
                    gib(needOne)));
        }
        long blocks;
        if (kvBytes > 0) {
            if (kvBytes > left) {
                throw new CudaUnavailableException("a KV cache of " + gib(kvBytes) + " does not fit the GPU: "
                        + gib(left) + " are left after the weights (" + gib(weights) + "), workspace and reserve");
            }
            blocks = kvBytes / needOne;
        } else {
            blocks = left / needOne;
        }
        return new DeviceMemoryPlan(deviceBytes, usable, weights, workspace, reserveBytes, kv,
                (int) Math.min(Integer.MAX_VALUE, Math.max(1, blocks)));
    }

    /** The forward pass's buffers on the device for these limits. */
    static long workspaceBytes(ModelConfig c, KvCacheSpec kv, Limits l) {
        long t = l.maxTokens();
        long floats = t * c.dim()                           // residual stream
                + t * Math.max(c.dim(), c.qDim())             // normed input / projection output
                + 2 * t * c.qDim()                            // q, attention output
                + 2 * t * c.kvDim()                           // k, v
                + 2 * t * c.ffnDim()                          // gate, up
                + 2L * l.maxLogitRows() * c.vocabSize()       // logits, probabilities
                + SplitK.workspaceFloats(l.maxTokens(), c.headCount(), c.headDim(), SplitK.chunks(c.contextLength() - 1))
                + 2L * l.maxLogitRows();                      // inverse temperatures, uniforms
        long maxBlocks = (c.contextLength() + kv.blockSize() - 1) / kv.blockSize();
        long ints = 3 * t + (long) l.maxSequences() * maxBlocks + 2L * l.maxLogitRows();
        return 4 * (floats + ints);
    }

    public long kvBytes() {
        return (long) kvBlocks * kv.blockBytes();
    }

    /** The positions the KV pool holds in all. */
    public long kvPositions() {
        return (long) kvBlocks * kv.blockSize();
    }

    /** One line for the node's startup log. */
    public String summary() {
        return String.format("GPU memory: %s of %s usable: weights %s, workspace %s, reserve %s, KV %s (%d blocks, %d positions)",
                gib(usableBytes), gib(deviceBytes), gib(weightBytes), gib(workspaceBytes), gib(reserveBytes), gib(kvBytes()),
                kvBlocks, kvPositions());
    }

    static String gib(long bytes) {
        if (bytes < (1L << 30)) {
            return String.format("%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format("%.2f GiB", bytes / (double) (1L << 30));
    }
}
