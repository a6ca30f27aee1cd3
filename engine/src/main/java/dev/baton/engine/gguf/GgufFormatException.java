package dev.baton.engine.gguf;

/** A GGUF file that cannot be read: the message names the file, the offset and the key or tensor at fault. */
public final class GgufFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
