package dev.baton.engine;

/** A prompt (plus the tokens to generate) longer than the model's context. */
public final class PromptTooLongException extends EngineException {
    private static final long serialVersionUID = 1L;

    private final int promptTokens;
    private final int contextLength;

    public PromptTooLongException(int promptTokens, int generateTokens, int contextLength) {
        super("prompt of " + promptTokens + " tokens plus " + generateTokens + " to generate exceeds the model's context of "
                + contextLength + " tokens");
        this.promptTokens = promptTokens;
        this.contextLength = contextLength;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
