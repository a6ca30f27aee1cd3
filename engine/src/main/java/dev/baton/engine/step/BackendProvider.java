package dev.baton.engine.step;

import dev.baton.engine.EngineSettings;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.model.ModelConfig;

/**
 * A forward-pass backend other than the CPU's, found with {@link java.util.ServiceLoader} by its
 * {@link #name()} ({@code baton.engine.backend}, {@code --backend}). The {@code cuda} module provides {@code cuda}.
 */
public interface BackendProvider {

    /** The name {@code baton.engine.backend} selects. */
    String name();

    /**
     * Opens the backend for a loaded model. {@code pool} is the engine's KV pool: its host memory holds every
     * computed position, as {@link ForwardBackend} requires. Fails with an exception naming why it cannot run here.
     */
    ForwardBackend open(EngineSettings settings, GgufFile file, ModelConfig config, KvBlockPool pool);
}
