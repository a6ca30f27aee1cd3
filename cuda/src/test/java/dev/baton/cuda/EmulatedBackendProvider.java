package dev.baton.cuda;

import dev.baton.engine.EngineSettings;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.step.BackendProvider;
import dev.baton.engine.step.ForwardBackend;

/** Test backend {@code emulated-gpu}: {@link CudaBackend} on an {@link EmulatedGpu} of 8 GiB. */
public final class EmulatedBackendProvider implements BackendProvider {

    static final String NAME = "emulated-gpu";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ForwardBackend open(EngineSettings settings, GgufFile file, ModelConfig config, KvBlockPool pool) {
        return new CudaBackend(config, file, pool, settings.maxBatchTokens(), settings.maxBatchSequences(),
                new EmulatedGpu(8L << 30));
    }
}
