package dev.baton.engine.sampling;

/** Why a sequence stopped generating, with the name the OpenAI API uses for it. */
public enum FinishReason {
    /** A stop string, a stop token or the end-of-sequence token. */
    STOP("stop"),
    /** {@code max_tokens} reached. */
    LENGTH("length");

    private final String wireName;

    FinishReason(String wireName) {
        this.wireName = wireName;
    }

    /** {@code "stop"} or {@code "length"}, as in OpenAI's {@code finish_reason}. */
    public String wireName() {
        return wireName;
    }
}
