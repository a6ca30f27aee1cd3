package dev.baton.engine.testing;

import dev.baton.engine.cpu.WorkerPool;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.model.Weights;
import dev.baton.engine.step.ForwardPass;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.tensor.KernelMode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** A model, a KV pool and a forward pass wired together for tests (no tokenizer, no scheduler). */
public final class TestModel implements AutoCloseable {

    public final GgufFile file;
    public final ModelConfig config;
    public final Weights weights;
    public final KvBlockPool pool;
    public final WorkerPool workers;
    public final ForwardPass forward;

    public TestModel(Path model, int threads, int maxTokens, int maxLogitRows, int blocks, GgmlType kvType,
            KernelMode mode) throws IOException {
        this(model, threads, maxTokens, maxLogitRows, blocks, kvType, mode, 16);
    }

    public TestModel(Path model, int threads, int maxTokens, int maxLogitRows, int blocks, GgmlType kvType,
            KernelMode mode, int blockSize) throws IOException {
        file = GgufFile.open(model);
        config = ModelConfig.from(file);
        weights = Weights.load(file, config, mode);
        pool = new KvBlockPool(new KvCacheSpec(config.layerCount(), config.kvHeadCount(), config.headDim(), blockSize, kvType),
                blocks);
        workers = new WorkerPool(threads, "test-forward");
        forward = new ForwardPass(config, weights, pool.spec(), maxTokens, maxLogitRows, workers);
    }

    public static TestModel open(Path model, int maxTokens, int maxLogitRows) throws IOException {
        return new TestModel(model, 1, maxTokens, maxLogitRows, 256, GgmlType.F32, KernelMode.defaultMode());
    }

    /** Runs {@code tokens} through one fresh sequence in one pass; returns logits of every row. */
    public float[][] teacherForced(int[] tokens) {
        KvSequence seq = new KvSequence(pool);
        try {
            StepBatch b = forward.newBatch(1);
            float[][] out = new float[tokens.length][];
            int done = 0;
            while (done < tokens.length) {
                b.clear();
                int n = Math.min(b.remainingTokens(), tokens.length - done);
                addAllRows(b, seq, tokens, done, done + n);
                forward.step(b);
                for (int i = 0; i < n; i++) {
                    out[done + i] = Arrays.copyOfRange(forward.logits(), i * config.vocabSize(),
                            (i + 1) * config.vocabSize());
                }
                done += n;
            }
            return out;
        } finally {
            seq.free();
        }
    }

    private static void addAllRows(StepBatch b, KvSequence seq, int[] tokens, int from, int to) {
        b.add(seq, tokens, from, to, to - from);
    }

    @Override
    public void close() {
        workers.close();
        pool.close();
        file.close();
    }
}
