package dev.baton.engine;

import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import dev.baton.engine.chat.ChatTemplate;
import dev.baton.engine.cpu.WorkerPool;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.kv.KvSnapshot;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.model.Weights;
import dev.baton.engine.step.BackendProvider;
import dev.baton.engine.step.ForwardBackend;
import dev.baton.engine.step.ForwardPass;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.function.LongFunction;

/**
 * One loaded model with its tokenizer, chat template, KV block pool and forward pass.
 *
 * <p>Weights stay memory-mapped; the KV pool is off-heap and sized by {@link EngineSettings#kvCacheBytes()}.
 * The model fingerprint (XXH3-128 of the file) is part of the {@link #compatibility()} tuple, so KV
 * from another model file is refused on import.
 *
 * <p>Threading: {@link #forward()}, {@link #pool()} and sequences are owned by one engine-loop thread;
 * the tokenizer and chat template are thread-safe.
 */
public final class Engine implements AutoCloseable {

    private final EngineSettings settings;
    private final GgufFile file;
    private final ModelConfig config;
    private final ModelFingerprint fingerprint;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final KvBlockPool pool;
    private final WorkerPool workers;
    private final ForwardBackend forward;
    private final KvCompatibility compatibility;
    private final int[] endOfGeneration;

    private Engine(EngineSettings s, GgufFile file, LongFunction<MemorySegment> poolMemory) {
        this.settings = s;
        this.file = file;
        this.config = ModelConfig.from(file);
        this.fingerprint = ModelFingerprint.of(file.mapping());
        this.tokenizer = Tokenizer.fromGguf(file.metadata());
        this.chatTemplate = ChatTemplate.fromGguf(file.metadata(), tokenizer);
        this.endOfGeneration = java.util.stream.IntStream.range(0, tokenizer.vocabSize())
                .filter(tokenizer::isEndOfGeneration).toArray();
        KvCacheSpec spec = new KvCacheSpec(config.layerCount(), config.kvHeadCount(), config.headDim(), s.blockSize(),
                s.kvDtype());
        int blocks = KvBlockPool.blocksForBytes(spec, s.kvCacheBytes());
        if (blocks < 1) {
            throw new EngineException("kvCacheBytes = " + s.kvCacheBytes() + " holds no KV block of " + spec.blockBytes()
                    + " bytes");
        }
        this.pool = new KvBlockPool(spec, blocks, poolMemory);
        this.workers = new WorkerPool(s.threads(), "baton-forward");
        try {
            this.forward = backend(s, file, config, spec, pool, workers);
        } catch (RuntimeException e) {
            workers.close();
            pool.close();
            throw e;
        }
        this.compatibility = new KvCompatibility(fingerprint, s.kvDtype().name(), s.blockSize(), KvCacheSpec.LAYOUT,
                config.layerCount(), config.kvHeadCount(), config.headDim(), KvCompatibility.PROTOCOL_VERSION);
    }

    /** The CPU's forward pass, or the backend {@code baton.engine.backend} names, found by its provider. */
    private static ForwardBackend backend(EngineSettings s, GgufFile file, ModelConfig config, KvCacheSpec spec,
            KvBlockPool pool, WorkerPool workers) {
        if (s.backend().equals(EngineSettings.CPU)) {
            Weights weights = Weights.load(file, config, s.kernelMode());
            return new ForwardPass(config, weights, spec, s.maxBatchTokens(), s.maxBatchSequences(), workers,
                    s.kernelMode());
        }
        java.util.List<String> known = new java.util.ArrayList<>(java.util.List.of(EngineSettings.CPU));
        for (BackendProvider p : java.util.ServiceLoader.load(BackendProvider.class)) {
            if (p.name().equals(s.backend())) {
                return p.open(s, file, config, pool);
            }
            known.add(p.name());
        }
        throw new EngineException("baton.engine.backend = " + s.backend() + ": no such backend here (known: "
                + String.join(", ", known) + ")");
    }

    /** Loads the model of {@code settings}; a bad file gives an exception naming the problem. */
    public static Engine open(EngineSettings settings) throws IOException {
        return open(settings, null);
    }

    /**
     * As {@link #open(EngineSettings)}, with the KV pool's memory from {@code poolMemory} (see
     * {@link KvBlockPool#KvBlockPool(KvCacheSpec, int, LongFunction)}); null allocates it here.
     */
    public static Engine open(EngineSettings settings, LongFunction<MemorySegment> poolMemory) throws IOException {
        settings.validate();
        GgufFile file = GgufFile.open(settings.model());
        try {
            return new Engine(settings, file, poolMemory);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public EngineSettings settings() {
        return settings;
    }

    public ModelConfig config() {
        return config;
    }

    public GgufFile file() {
        return file;
    }

    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public KvBlockPool pool() {
        return pool;
    }

    public ForwardBackend forward() {
        return forward;
    }

    public KvCompatibility compatibility() {
        return compatibility;
    }

    /** Every token id the tokenizer marks as ending generation (EOS, end-of-turn markers). */
    public int[] endOfGenerationIds() {
        return endOfGeneration.clone();
    }

    /** An empty sequence in this engine's pool. */
    public KvSequence newSequence() {
        return new KvSequence(pool);
    }

    /** A batch sized for this engine's limits. */
    public StepBatch newBatch() {
        return forward.newBatch(settings.maxBatchSequences());
    }

    /** Copies a sequence's KV (for {@code tokens[0, seq.length())}) with this engine's compatibility tuple. */
    public KvSnapshot exportKv(KvSequence seq, int[] tokens) {
        return KvSnapshot.of(compatibility, seq, tokens);
    }

    /** Imports KV exported by a compatible engine into a new sequence; refuses other models or layouts. */
    public KvSequence importKv(KvSnapshot snapshot) {
        return snapshot.importInto(pool, compatibility);
    }

    /**
     * Checks a prompt against the context: {@link PromptTooLongException} names both lengths.
     *
     * @param reserveTokens tokens to leave for generation (at least 1)
     */
    public void checkPromptLength(int promptTokens, int reserveTokens) {
        if (promptTokens < 1) {
            throw new EngineException("prompt is empty: at least one token is needed");
        }
        if (promptTokens + Math.max(1, reserveTokens) > config.contextLength()) {
            throw new PromptTooLongException(promptTokens, Math.max(1, reserveTokens), config.contextLength());
        }
    }

    @Override
    public void close() {
        forward.close();
        workers.close();
        pool.close();
        file.close();
    }
}
