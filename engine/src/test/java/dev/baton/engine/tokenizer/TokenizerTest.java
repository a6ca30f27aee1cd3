package dev.baton.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.gguf.GgufValueType;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Behaviour of the tokenizers beyond the oracle's cases: special tokens, errors, round trips. */
class TokenizerTest {

    private static final Tokenizer BPE = Oracle.tokenizer("tiny-f32.gguf");
    private static final Tokenizer SPM = Oracle.tokenizer("small-q8_0.gguf");

    private static final List<String> VARIED_TEXT = List.of(
            "Once upon a time, there was a little girl named Lily.",
            "  leading, trailing and   inner   spaces  ",
            "line one\nline two\r\n\r\n\ttabbed\n",
            "It's they're we've I'd you'll I'M",
            "Numbers 0 7 42 123 4567 3.14159 -1e10 ٣٤ ½",
            "Ünïcödé naïve café 日本語 Привет Ελληνικά עברית",
            "emoji 🙂👍🏽 👨‍👩‍👧 ✨",
            "code:\n    def f(x):\n        return x ** 2  # square\n",
            "literal markers <|im_start|>user\n<s> </s> [INST]",
            "\u00A0no-break\u3000ideographic\u2009thin space",
            "");

    @Test
    void shouldRoundTripByteLevelBpe() {
        for (String text : VARIED_TEXT) {
            assertEquals(text, BPE.decode(BPE.encode(text, false, false)), text);
        }
    }

    @Test
    void shouldRoundTripSentencePieceWithItsSpacePrefix() {
        for (String text : VARIED_TEXT) {
            String expected = text.isEmpty() ? "" : " " + text;
            assertEquals(expected, SPM.decode(SPM.encode(text, false, false)), text);
        }
    }

    @Test
    void shouldParseControlTokensOnlyWhenAsked() {
        int imStart = BPE.tokenId("<|im_start|>").orElseThrow();
        assertArrayEquals(new int[] {imStart}, BPE.encode("<|im_start|>", false, true));
        int[] literal = BPE.encode("<|im_start|>", false, false);
        assertTrue(literal.length > 1, Arrays.toString(literal));
        assertFalse(Arrays.stream(literal).anyMatch(id -> id == imStart));
    }

    @Test
    void shouldAddBosOnlyWithAddSpecial() {
        assertEquals(BPE.bosId(), BPE.encode("Hello", true, false)[0]);
        assertFalse(BPE.encode("Hello", false, false)[0] == BPE.bosId());
        assertArrayEquals(new int[] {SPM.bosId()}, SPM.encode("", true, false));
        assertArrayEquals(new int[0], SPM.encode("", false, false));
    }

    @Test
    void shouldPutTheSentencePieceSpacePrefixAfterEachSpecialToken() {
        int[] ids = SPM.encode("Hello</s>Hello", false, true);
        int hello = SPM.tokenId("▁Hello").orElseThrow();
        assertArrayEquals(new int[] {hello, SPM.eosId(), hello}, ids);
    }

    @Test
    void shouldFallBackToByteTokensForUnknownCharacters() {
        int[] ids = SPM.encode("🙂", false, false);
        byte[] emoji = "🙂".getBytes(StandardCharsets.UTF_8);
        assertEquals(SPM.tokenId("▁").orElseThrow(), ids[0]);
        for (int i = 0; i < emoji.length; i++) {
            assertEquals(String.format("<0x%02X>", emoji[i] & 0xFF), SPM.tokenText(ids[i + 1]));
        }
        assertEquals(emoji.length + 1, ids.length);
    }

    @Test
    void shouldGiveTokenBytes() {
        assertArrayEquals(new byte[0], BPE.tokenBytes(BPE.bosId()));
        assertArrayEquals(" the".getBytes(StandardCharsets.UTF_8), BPE.tokenBytes(BPE.tokenId("Ġthe").orElseThrow()));
        assertArrayEquals(new byte[] {(byte) 0xF0}, BPE.tokenBytes(240));
        assertArrayEquals(new byte[] {'\n'}, SPM.tokenBytes(SPM.tokenId("<0x0A>").orElseThrow()));
        assertArrayEquals(" the".getBytes(StandardCharsets.UTF_8), SPM.tokenBytes(SPM.tokenId("▁the").orElseThrow()));
        assertArrayEquals(new byte[0], SPM.tokenBytes(SPM.eosId()));
    }

    @Test
    void shouldDescribeTheVocabulary() {
        assertEquals(512, BPE.vocabSize());
        assertEquals(508, BPE.bosId());
        assertEquals(509, BPE.eosId());
        assertEquals("<|im_end|>", BPE.tokenText(511));
        assertEquals(OptionalInt.of(511), BPE.tokenId("<|im_end|>"));
        assertEquals(OptionalInt.empty(), BPE.tokenId("no such token"));
        assertEquals(32000, SPM.vocabSize());
        assertEquals(1, SPM.bosId());
        assertEquals(2, SPM.eosId());
    }

    @Test
    void shouldStopAtEndOfGenerationTokens() {
        assertTrue(BPE.isEndOfGeneration(509)); // <|end_of_text|>
        assertTrue(BPE.isEndOfGeneration(511)); // <|im_end|>
        assertFalse(BPE.isEndOfGeneration(508));
        assertFalse(BPE.isEndOfGeneration(510));
        assertFalse(BPE.isEndOfGeneration(42));
        assertFalse(BPE.isEndOfGeneration(-1));
        assertTrue(SPM.isEndOfGeneration(2));
        assertFalse(SPM.isEndOfGeneration(1));
    }

    @Test
    void shouldRejectAnIdOutsideTheVocabulary() {
        assertThrows(IndexOutOfBoundsException.class, () -> BPE.tokenBytes(512));
        assertThrows(IndexOutOfBoundsException.class, () -> BPE.decode(new int[] {1, -1}));
        assertThrows(IndexOutOfBoundsException.class, () -> SPM.tokenText(32000));
    }

    @Test
    void shouldRejectAnUnknownModelType() {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Tokenizer.fromGguf(metadata(Map.of("tokenizer.ggml.model", "bert"))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model 'bert'"), e.getMessage());
    }

    @Test
    void shouldRejectAMissingModelType() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromGguf(metadata(Map.of())));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }

    @Test
    void shouldRejectAnUnknownPreTokenizer() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromGguf(metadata(Map.of(
                "tokenizer.ggml.model", "gpt2", "tokenizer.ggml.pre", "klingon"))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.pre 'klingon'"), e.getMessage());
    }

    @Test
    void shouldRejectBpeWithoutMerges() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromGguf(metadata(Map.of(
                "tokenizer.ggml.model", "gpt2", "tokenizer.ggml.pre", "llama-bpe",
                "tokenizer.ggml.tokens", new String[] {"a", "b"}))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.merges"), e.getMessage());
    }

    @Test
    void shouldRejectAddBosWithoutABosToken() {
        Map<String, Object> kv = new LinkedHashMap<>();
        kv.put("tokenizer.ggml.model", "llama");
        kv.put("tokenizer.ggml.tokens", new String[] {"a"});
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.fromGguf(metadata(kv)));
        assertTrue(e.getMessage().contains("tokenizer.ggml.bos_token_id"), e.getMessage());
    }

    @Test
    void shouldTokenizeASmallHandMadeSentencePieceVocabulary() {
        Map<String, Object> kv = new LinkedHashMap<>();
        kv.put("tokenizer.ggml.model", "llama");
        kv.put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "▁ab", "ba"});
        kv.put("tokenizer.ggml.scores", new float[] {0, 0, 0, -5, -5, -5, -1, -0.5f, -2});
        kv.put("tokenizer.ggml.token_type", new long[] {2, 3, 3, 1, 1, 1, 1, 1, 1});
        Tokenizer t = Tokenizer.fromGguf(metadata(kv));
        // "▁abab": the leftmost "ab" (-1) merges first, then "▁ab" (-0.5) outranks the second "ab"; "ba" (-2) never wins.
        assertArrayEquals(new int[] {1, 7, 6}, t.encode("abab", true, false));
        // "c" is neither a token nor has byte tokens: it becomes <unk>.
        assertArrayEquals(new int[] {3, 0}, t.encode("c", false, false));
    }

    private static GgufMetadata metadata(Map<String, Object> values) {
        Map<String, GgufMetadata.Entry> entries = new LinkedHashMap<>();
        values.forEach((k, v) -> entries.put(k, switch (v) {
            case String s -> new GgufMetadata.Entry(k, GgufValueType.STRING, null, s);
            case String[] a -> new GgufMetadata.Entry(k, GgufValueType.ARRAY, GgufValueType.STRING, a);
            case float[] a -> new GgufMetadata.Entry(k, GgufValueType.ARRAY, GgufValueType.FLOAT32, a);
            case long[] a -> new GgufMetadata.Entry(k, GgufValueType.ARRAY, GgufValueType.INT32, a);
            default -> throw new IllegalArgumentException(k);
        }));
        return new GgufMetadata("test", entries);
    }
}
