package dev.baton.engine.chat;

import java.util.Objects;

/**
 * One turn of a conversation as chat templates see it: {@code message.role} / {@code message['role']}
 * ({@code system}, {@code user}, {@code assistant}, ...) and {@code message.content}. Immutable.
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
