package dev.baton.cuda;

import dev.baton.engine.EngineSettings;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.step.BackendProvider;
import dev.baton.engine.step.ForwardBackend;

/** {@code baton.engine.backend = cuda} ({@code --backend cuda --device N}): {@link CudaBackend}. */
public final class CudaBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public ForwardBackend open(EngineSettings settings, GgufFile file, ModelConfig config, KvBlockPool pool) {
        return new CudaBackend(config, file, pool, settings.maxBatchTokens(), settings.maxBatchSequences(),
                settings.device());
    }
}
