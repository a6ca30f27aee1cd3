package dev.baton.router.api;

import dev.baton.engine.chat.ChatTemplate;
import dev.baton.engine.gguf.GgufFormatException;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.tokenizer.Tokenizer;
import java.util.Objects;

/**
 * The model a {@link GenerationBackend} serves, as the HTTP API needs it: the id clients name in
 * {@code model}, the context length that bounds prompt plus {@code max_tokens}, and the tokenizer and
 * chat template the router turns requests into token ids with (docs/design.md §3: the router tokenizes).
 *
 * <p>Immutable and thread-safe (the tokenizer and chat template are).
 *
 * @param id                  the served model id ({@code GET /v1/models}, {@code model} in requests and responses)
 * @param contextLength       positions of the model's context: prompt plus generated tokens at most
 * @param tokenizer           the model's tokenizer
 * @param chatTemplate        the model's chat template (ChatML when the model has none)
 * @param createdEpochSeconds the {@code created} of the model listing (seconds since the epoch)
 */
public record ModelCard(String id, int contextLength, Tokenizer tokenizer, ChatTemplate chatTemplate,
        long createdEpochSeconds) {

    public ModelCard {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(chatTemplate, "chatTemplate");
        if (id.isBlank()) {
            throw new IllegalArgumentException("model id is blank");
        }
        if (contextLength < 2) {
            throw new IllegalArgumentException("context length " + contextLength + " leaves no room to generate");
        }
    }

    /**
     * The card of a GGUF model: tokenizer and chat template from its metadata, the context from
     * {@code <general.architecture>.context_length}.
     *
     * @throws GgufFormatException if a key is missing or of the wrong type
     */
    public static ModelCard fromGguf(String id, GgufMetadata metadata, long createdEpochSeconds) {
        String arch = metadata.getString("general.architecture");
        int context = metadata.getInt(arch + ".context_length");
        Tokenizer tokenizer = Tokenizer.fromGguf(metadata);
        return new ModelCard(id, context, tokenizer, ChatTemplate.fromGguf(metadata, tokenizer), createdEpochSeconds);
    }

    /** Size of the vocabulary: token ids are in {@code [0, vocabSize())}. */
    public int vocabSize() {
        return tokenizer.vocabSize();
    }
}
