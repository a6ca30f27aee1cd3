package dev.baton.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzz harness of the tokenizers (README "Fuzzing"), on the oracle's byte-level BPE model
 * ({@code tiny-f32.gguf}) and SentencePiece model ({@code small-q8_0.gguf}): any text, with or without
 * special tokens, encodes without an exception to ids inside the vocabulary; byte-level BPE gives valid
 * Unicode text back unchanged; any ids in the vocabulary decode, and the streaming detokenizer's
 * pieces add up to the whole decode.
 *
 * <p>Inputs: {@code src/test/resources/dev/baton/engine/tokenizer/TokenizerFuzzTestInputs/tokenize/}.
 */
class TokenizerFuzzTest {

    private static final Tokenizer BPE = Oracle.tokenizer("tiny-f32.gguf");
    private static final Tokenizer SPM = Oracle.tokenizer("small-q8_0.gguf");

    @FuzzTest(maxDuration = "20s")
    void tokenize(FuzzedDataProvider data) {
        boolean bpe = data.consumeBoolean();
        Tokenizer t = bpe ? BPE : SPM;
        boolean addSpecial = data.consumeBoolean();
        boolean parseSpecial = data.consumeBoolean();
        int[] extra = data.consumeInts(32);
        String text = data.consumeRemainingAsString();

        int[] ids = t.encode(text, addSpecial, parseSpecial);
        for (int id : ids) {
            assertTrue(id >= 0 && id < t.vocabSize(), "id " + id);
        }
        String decoded = t.decode(ids);
        if (bpe && !addSpecial && !parseSpecial && wellFormed(text)) {
            assertEquals(text, decoded, "byte-level BPE round trip");
        }

        int[] arbitrary = new int[extra.length];
        for (int i = 0; i < extra.length; i++) {
            arbitrary[i] = Math.floorMod(extra[i], t.vocabSize());
        }
        StreamingDetokenizer stream = new StreamingDetokenizer(t);
        StringBuilder pieces = new StringBuilder();
        for (int id : arbitrary) {
            pieces.append(stream.accept(id));
        }
        pieces.append(stream.flush());
        assertEquals(t.decode(arbitrary), pieces.toString());
    }

    private static boolean wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
