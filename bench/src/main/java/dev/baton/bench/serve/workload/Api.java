package dev.baton.bench.serve.workload;

import java.util.Locale;

/** Which OpenAI endpoint a benchmark talks to; it decides how a turn's messages become a request. */
public enum Api {
    /** {@code POST /v1/completions}: the messages' contents are concatenated into one {@code prompt}. */
    COMPLETIONS("completions"),
    /** {@code POST /v1/chat/completions}: the messages are sent as they are. */
    CHAT("chat/completions");

    private final String path;

    Api(String path) {
        this.path = path;
    }

    /** The path under the base URL ({@code completions} or {@code chat/completions}). */
    public String path() {
        return path;
    }

    /** Parses {@code completions} or {@code chat}. */
    public static Api parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "completions", "completion" -> COMPLETIONS;
            case "chat", "chat-completions", "chat/completions" -> CHAT;
            default -> throw new IllegalArgumentException("--api: unknown API \"" + s + "\" (expected completions or chat)");
        };
    }
}
