package dev.baton.engine.step;

import dev.baton.engine.model.ModelConfig;

/**
 * What computes a forward pass over a {@link StepBatch}: the CPU's {@link ForwardPass}, or a backend found through
 * {@link BackendProvider} ({@code baton.engine.backend}; the GPU's lives in the {@code cuda} module). Every backend
 * writes the batch's K and V into the KV pool's host memory as the CPU lays it out (so export, the host tier and
 * KV transfer read it as they always do), sets each sequence's length, and leaves the logits of the rows the
 * batch asked for in {@link #logits()}. Owned by one thread (the engine loop).
 */
public interface ForwardBackend extends AutoCloseable {

    /** A batch sized for this backend's limits. */
    StepBatch newBatch(int maxSequences);

    /** Runs the batch; on return each sequence's KV length covers its added tokens. */
    void step(StepBatch b);

    /** Logits of the last step: row {@code r} at {@code [r * vocabSize, (r + 1) * vocabSize)}. */
    float[] logits();

    ModelConfig config();

    /** A short description for the node's startup log ({@code cpu}, {@code cuda: GPU 0 NVIDIA H100 ...}). */
    String describe();

    /** Releases what the backend holds beyond the heap (device memory, contexts); the CPU's holds nothing. */
    @Override
    default void close() {}
}
