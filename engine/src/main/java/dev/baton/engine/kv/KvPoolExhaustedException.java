package dev.baton.engine.kv;

import dev.baton.engine.EngineException;

/** A sequence needs more KV blocks than the pool has free. */
public final class KvPoolExhaustedException extends EngineException {
    private static final long serialVersionUID = 1L;

    public KvPoolExhaustedException(String message) {
        super(message);
    }
}
