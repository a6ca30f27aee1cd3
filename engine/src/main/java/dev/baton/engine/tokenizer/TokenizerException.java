package dev.baton.engine.tokenizer;

/**
 * A tokenizer that cannot be built from a model's metadata: the message names the metadata key and
 * the value at fault (an unsupported {@code tokenizer.ggml.model} or {@code tokenizer.ggml.pre}, a
 * missing token list, an id out of range).
 */
public final class TokenizerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }
}
