package dev.baton.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class StreamingDetokenizerTest {

    /** In tiny-f32's vocabulary token {@code b} (0..255) is the single byte {@code b}. */
    private static final Tokenizer BPE = Oracle.tokenizer("tiny-f32.gguf");
    private static final Tokenizer SPM = Oracle.tokenizer("small-q8_0.gguf");

    private static List<String> acceptAll(StreamingDetokenizer d, int... ids) {
        List<String> out = new ArrayList<>();
        for (int id : ids) {
            out.add(d.accept(id));
        }
        return out;
    }

    @Test
    void shouldHoldAnEmojiUntilItsLastByte() {
        StreamingDetokenizer d = new StreamingDetokenizer(BPE);
        assertEquals(List.of("", "", "", "🙂"), acceptAll(d, 0xF0, 0x9F, 0x99, 0x82));
        assertEquals("", d.flush());
    }

    @Test
    void shouldHoldAnEmojiSplitOverSentencePieceByteTokens() {
        StreamingDetokenizer d = new StreamingDetokenizer(SPM);
        int[] ids = SPM.encode("👍", false, false); // "▁" then <0xF0> <0x9F> <0x91> <0x8D>
        assertEquals(List.of(" ", "", "", "", "👍"), acceptAll(d, ids));
    }

    @Test
    void shouldEmitTextBeforeAnIncompleteCharacterAtOnce() {
        StreamingDetokenizer d = new StreamingDetokenizer(BPE);
        assertEquals("ab", String.join("", acceptAll(d, BPE.encode("ab", false, false))));
        assertEquals(List.of("x", "", "é"), acceptAll(d, 'x', 0xC3, 0xA9));
    }

    @Test
    void shouldReplaceBytesThatCanNeverCompleteACharacter() {
        StreamingDetokenizer d = new StreamingDetokenizer(BPE);
        assertEquals(List.of("", "\uFFFDA"), acceptAll(d, 0xE2, 'A'));
        assertEquals(List.of("\uFFFD"), acceptAll(d, 0x80)); // a stray continuation byte
        assertEquals(List.of("", "\uFFFD\uFFFD"), acceptAll(d, 0xE0, 0x80)); // E0 needs A0..BF next
        assertEquals(List.of("", "\uFFFD\uFFFD", "\uFFFD"), acceptAll(d, 0xED, 0xB9, 0x8E)); // no encoded surrogates
    }

    @Test
    void shouldFlushAnIncompleteCharacterAsOneReplacement() {
        StreamingDetokenizer d = new StreamingDetokenizer(BPE);
        assertEquals(List.of("", ""), acceptAll(d, 0xF0, 0x9F));
        assertEquals("\uFFFD", d.flush());
        assertEquals("", d.flush());
        assertEquals("ok", String.join("", acceptAll(d, 'o', 'k')));
    }

    @Test
    void shouldEmitNothingForControlTokens() {
        StreamingDetokenizer d = new StreamingDetokenizer(BPE);
        assertEquals(List.of("", "", "a"), acceptAll(d, BPE.bosId(), 511, 'a'));
    }

    @Test
    void shouldEqualDecodeOnRandomTokens() {
        Random random = new Random(7);
        for (int round = 0; round < 3000; round++) {
            int[] ids = new int[random.nextInt(10)];
            for (int i = 0; i < ids.length; i++) {
                // favour bytes >= 0x80 so characters get split, joined and broken
                ids[i] = random.nextInt(4) == 0 ? random.nextInt(BPE.vocabSize()) : 0x80 + random.nextInt(0x80);
            }
            StreamingDetokenizer d = new StreamingDetokenizer(BPE);
            String streamed = String.join("", acceptAll(d, ids)) + d.flush();
            assertEquals(BPE.decode(ids), streamed, () -> java.util.Arrays.toString(ids));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.baton.engine.tokenizer.Oracle#generationRefs")
    void shouldStreamTheReferenceGenerationsText(String ref) {
        JsonNode json = Oracle.json(ref);
        StreamingDetokenizer d = new StreamingDetokenizer(Oracle.tokenizer(json.get("model").asText()));
        StringBuilder text = new StringBuilder();
        for (int id : Oracle.ints(json.get("generated_tokens"))) {
            text.append(d.accept(id));
        }
        text.append(d.flush());
        assertEquals(json.get("generated_text").asText(), text.toString());
    }
}
