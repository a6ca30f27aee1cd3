package dev.baton.engine.tokenizer;

import dev.baton.engine.gguf.GgufMetadata;
import java.util.OptionalInt;

/**
 * Text to token ids and back, with the vocabulary and the rules of a GGUF model, producing the same
 * ids as llama.cpp.
 *
 * <p>Implementations are immutable and thread-safe: one instance serves every request of a model.
 * {@link #encode} allocates (it is called once per prompt); the per-token path is
 * {@link StreamingDetokenizer}.
 */
public interface Tokenizer {

    /**
     * Builds the tokenizer a model's metadata describes: {@code tokenizer.ggml.model} {@code gpt2}
     * gives byte-level BPE, {@code llama} gives SentencePiece (BPE over characters with scores and
     * byte fallback).
     *
     * @throws TokenizerException for a missing or unsupported model type or pre-tokenizer, or an
     *     inconsistent vocabulary; the message names the key and its value
     */
    static Tokenizer fromGguf(GgufMetadata metadata) {
        String key = Vocabulary.KEY_MODEL;
        if (!metadata.has(key)) {
            throw new TokenizerException("missing metadata key '" + key + "' (supported: gpt2, llama)");
        }
        String model = metadata.getString(key);
        return switch (model) {
            case "gpt2" -> BpeTokenizer.fromGguf(metadata);
            case "llama" -> SpmTokenizer.fromGguf(metadata);
            default -> throw new TokenizerException(
                    "unsupported " + key + " '" + model + "' (supported: gpt2, llama)");
        };
    }

    /**
     * Tokenizes {@code text}.
     *
     * @param addSpecial add BOS (and EOS) where the model asks for them ({@code tokenizer.ggml.add_bos_token},
     *     {@code tokenizer.ggml.add_eos_token}, else llama.cpp's default for the model type)
     * @param parseSpecial treat control tokens written in the text (e.g. {@code <|im_start|>}) as
     *     those tokens; user-defined tokens are always matched whole, as llama.cpp and Hugging Face
     *     tokenizers do
     * @return a new array of token ids
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * The raw bytes token {@code id} contributes to output text: byte-level BPE tokens byte-decoded,
     * SentencePiece pieces with '▁' as a space and {@code <0xXX>} as that byte, user-defined tokens as
     * written; control, unknown and unused tokens contribute nothing. A fresh copy on every call.
     *
     * @throws IndexOutOfBoundsException if {@code id} is not in {@code [0, vocabSize())}
     */
    byte[] tokenBytes(int id);

    /**
     * The bytes of every token in order, decoded as UTF-8; each maximal invalid subpart becomes one
     * U+FFFD (as Python's {@code errors="replace"}).
     */
    String decode(int[] ids);

    /**
     * The vocabulary entry of token {@code id}, as stored in the model.
     *
     * @throws IndexOutOfBoundsException if {@code id} is not in {@code [0, vocabSize())}
     */
    String tokenText(int id);

    int vocabSize();

    /** The beginning-of-sequence token, or -1 when the model has none. */
    int bosId();

    /** The end-of-sequence token, or -1 when the model has none. */
    int eosId();

    /**
     * Whether generation stops at token {@code id}: EOS, end-of-turn and the like ({@code <|eot_id|>},
     * {@code <|im_end|>}, {@code <|end_of_text|>}, {@code </s>}, ...), as llama.cpp decides.
     */
    boolean isEndOfGeneration(int id);

    /** The id of the vocabulary entry exactly equal to {@code text}, if there is one. */
    OptionalInt tokenId(String text);
}
