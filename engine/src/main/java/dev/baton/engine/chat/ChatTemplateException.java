package dev.baton.engine.chat;

/**
 * A chat template that cannot be compiled or rendered. For a template that calls
 * {@code raise_exception(message)} (e.g. "Conversation roles must alternate ..."), the message is the
 * template's own; otherwise it says what is wrong and where.
 */
public final class ChatTemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
