package dev.baton.engine.kv;

import dev.baton.engine.EngineException;

/** KV bytes from an engine whose compatibility tuple differs (another model file, dtype or layout). */
public final class KvIncompatibleException extends EngineException {
    private static final long serialVersionUID = 1L;

    public KvIncompatibleException(String message) {
        super(message);
    }
}
