package dev.baton.engine.model;

import dev.baton.engine.EngineException;

/** A model file whose contents the engine cannot run: unknown architecture, missing or mis-shaped tensor. */
public final class ModelFormatException extends EngineException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message);
    }
}
