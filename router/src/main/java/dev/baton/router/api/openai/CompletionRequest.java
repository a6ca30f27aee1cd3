package dev.baton.router.api.openai;

import dev.baton.engine.chat.ChatMessage;
import dev.baton.engine.sampling.SamplingParams;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A {@code POST /v1/completions} or {@code /v1/chat/completions} body after type checking, before
 * tokenization. Ranges that need the model (vocabulary, context) are checked later. Immutable.
 *
 * @param kind         which endpoint it came to
 * @param model        the {@code model} field, or null when absent
 * @param prompt       text, token ids or chat messages
 * @param maxTokens    {@code max_tokens} ({@code max_completion_tokens} first for chat) when given
 * @param maxTokensParam the name the limit came under ({@code max_tokens} when none), for error messages
 * @param sampling     every sampling field except {@code max_tokens}, which is left at its default
 * @param stream       {@code stream}
 * @param includeUsage {@code stream_options.include_usage}
 * @param cacheSalt    {@code cache_salt}: the tenant cache salt ({@code ""} when absent); requests reuse
 *                     each other's KV blocks only under the same salt
 * @param session      {@code user}: the session (conversation, end user) the request belongs to, or null; the
 *                     router sends a session's requests to the node that served its last one (sticky sessions)
 */
public record CompletionRequest(
        Kind kind,
        String model,
        Prompt prompt,
        OptionalInt maxTokens,
        String maxTokensParam,
        SamplingParams sampling,
        boolean stream,
        boolean includeUsage,
        String cacheSalt,
        String session) {

    /** The two generation endpoints. */
    public enum Kind {
        /** {@code POST /v1/completions}: {@code prompt}, answers of object {@code text_completion}. */
        COMPLETION,
        /** {@code POST /v1/chat/completions}: {@code messages}, answers of object {@code chat.completion}. */
        CHAT
    }

    /** What to generate from. */
    public sealed interface Prompt {
        /** A completion prompt as text: tokenized with BOS where the model wants it, special tokens parsed. */
        record Text(String text) implements Prompt {
            public Text {
                Objects.requireNonNull(text, "text");
            }
        }

        /** A completion prompt as token ids, used as given (no BOS added). */
        record Tokens(int[] ids) implements Prompt {
            public Tokens {
                Objects.requireNonNull(ids, "ids");
            }
        }

        /** A conversation, rendered with the model's chat template. */
        record Messages(List<ChatMessage> messages) implements Prompt {
            public Messages {
                messages = List.copyOf(messages);
            }
        }
    }

    public CompletionRequest {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(maxTokens, "maxTokens");
        Objects.requireNonNull(maxTokensParam, "maxTokensParam");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(cacheSalt, "cacheSalt");
    }

    /** This request as one of the session {@code id} (the {@code X-Session-Id} header). */
    public CompletionRequest withSession(String id) {
        return new CompletionRequest(kind, model, prompt, maxTokens, maxTokensParam, sampling, stream, includeUsage,
                cacheSalt, id);
    }
}
