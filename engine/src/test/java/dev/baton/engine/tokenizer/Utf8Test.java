package dev.baton.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class Utf8Test {

    /** Bytes and what Python's {@code bytes.decode("utf-8", "replace")} makes of them. */
    private static final List<Map.Entry<int[], String>> PYTHON = List.of(
            Map.entry(new int[] {0xED, 0xA0, 0x80}, "\uFFFD\uFFFD\uFFFD"),
            Map.entry(new int[] {0xF0, 0x9F, 0x99}, "\uFFFD"),
            Map.entry(new int[] {0xE0, 0x80, 0x41}, "\uFFFD\uFFFDA"),
            Map.entry(new int[] {0xF4, 0x90, 0x80, 0x80}, "\uFFFD\uFFFD\uFFFD\uFFFD"),
            Map.entry(new int[] {0xC0, 0xAF}, "\uFFFD\uFFFD"),
            Map.entry(new int[] {0xF8, 0x88, 0x80, 0x80, 0x80}, "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"),
            Map.entry(new int[] {0xE2, 0x82, 0xAC, 0xE2, 0x82}, "\u20AC\uFFFD"),
            Map.entry(new int[] {0xC3}, "\uFFFD"),
            Map.entry(new int[] {0xE0, 0xEF, 0x8E, 0x41, 0xF5, 0xDF, 0x80}, "\uFFFD\uFFFDA\uFFFD\u07C0"),
            Map.entry(new int[] {0xA0, 0xEF, 0xFF, 0xDF}, "\uFFFD\uFFFD\uFFFD\uFFFD"),
            Map.entry(new int[] {0xA0, 0xDF, 0x41, 0xC3, 0xF4, 0xE0}, "\uFFFD\uFFFDA\uFFFD\uFFFD\uFFFD"),
            Map.entry(new int[] {0xF0, 0xC2, 0x9F, 0xBF}, "\uFFFD\u009F\uFFFD"),
            Map.entry(new int[] {0xF5, 0xBF, 0xBF, 0x41, 0x41, 0xC3, 0xC3}, "\uFFFD\uFFFD\uFFFDAA\uFFFD\uFFFD"),
            Map.entry(new int[] {0xC2, 0xE2, 0xED, 0xC3}, "\uFFFD\uFFFD\uFFFD\uFFFD"),
            Map.entry(new int[] {0xC3, 0xC2, 0xC3, 0xF0, 0xE2, 0x41, 0xEF}, "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDA\uFFFD"),
            Map.entry(new int[] {0xC2, 0xBF, 0xE0, 0x9F, 0xED, 0xE2}, "\u00BF\uFFFD\uFFFD\uFFFD\uFFFD"));

    @Test
    void shouldReplaceEachMaximalInvalidSubpartLikePython() {
        for (Map.Entry<int[], String> c : PYTHON) {
            byte[] b = new byte[c.getKey().length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) c.getKey()[i];
            }
            assertEquals(c.getValue(), Utf8.decode(b, 0, b.length), java.util.Arrays.toString(c.getKey()));
        }
    }

    @Test
    void shouldDecodeValidTextAsIs() {
        String text = "plain, Ünïcödé, 日本語, 🙂👍";
        byte[] b = ("xx" + text + "yy").getBytes(StandardCharsets.UTF_8);
        assertEquals(text, Utf8.decode(b, 2, b.length - 4));
    }
}
