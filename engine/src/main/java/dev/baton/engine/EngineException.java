package dev.baton.engine;

/** Base of the engine's typed exceptions: the message names what is wrong and the limit it broke. */
public class EngineException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
