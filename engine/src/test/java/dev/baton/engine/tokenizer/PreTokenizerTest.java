package dev.baton.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written splitters against the regular expressions they stand for (run by
 * {@link java.util.regex}, a backtracking engine like the Python and Rust ones the models were trained
 * with), on fixed examples and on random text made of the characters where splitters go wrong.
 */
class PreTokenizerTest {

    /** llama.cpp's whitespace (Unicode White_Space), for the reference patterns. */
    private static final String WS = "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
    private static final String S = "[" + WS + "]";
    private static final String NOT_S = "[^" + WS + "]";
    /** {@code [^\s\p{L}\p{N}]}. */
    private static final String OTHER = "[^\\p{L}\\p{N}" + WS + "]";

    private static final Pattern LLAMA3 = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?" + OTHER + "+[\\r\\n]*"
                    + "|" + S + "*[\\r\\n]+|" + S + "+(?!" + NOT_S + ")|" + S + "+");
    private static final Pattern QWEN2 = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?" + OTHER + "+[\\r\\n]*"
                    + "|" + S + "*[\\r\\n]+|" + S + "+(?!" + NOT_S + ")|" + S + "+");
    private static final Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?" + OTHER + "+|" + S + "+(?!" + NOT_S + ")|" + S + "+");

    private static final String ALPHABET_SAMPLE =
            "  \t\n\r\n\u000B\u00A0\u3000\u2009aZé日本ß1234567890٣½'sStTreVEmMlLdD'!?.,-_#()\"«»€$+<=>^~|`🙂👍\u0301\u001C";

    static List<String> split(PreTokenizer pre, String text) {
        int[] cps = text.codePoints().toArray();
        IntList lengths = new IntList(8);
        pre.split(cps, cps.length, lengths);
        List<String> words = new ArrayList<>();
        int at = 0;
        for (int i = 0; i < lengths.size(); i++) {
            words.add(new String(cps, at, lengths.get(i)));
            at += lengths.get(i);
        }
        assertEquals(cps.length, at, "the words must cover the text");
        return words;
    }

    static List<String> regexSplit(Pattern pattern, String text) {
        List<String> words = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) {
                words.add(text.substring(at, m.start()));
            }
            words.add(m.group());
            at = m.end();
        }
        if (at < text.length()) {
            words.add(text.substring(at));
        }
        return words;
    }

    @Test
    void shouldSplitWhitespaceRunsLikeTheLlama3Regex() {
        assertEquals(List.of("Hello", " ", " world"), split(PreTokenizer.LLAMA3, "Hello  world"));
        assertEquals(List.of("a", "  \n\n", "b"), split(PreTokenizer.LLAMA3, "a  \n\nb"));
        assertEquals(List.of("a", " \n", " ", " b"), split(PreTokenizer.LLAMA3, "a \n  b"));
        assertEquals(List.of("x", ":\n", "   ", " return"), split(PreTokenizer.LLAMA3, "x:\n    return"));
        assertEquals(List.of("end", "  "), split(PreTokenizer.LLAMA3, "end  "));
        assertEquals(List.of("\tand"), split(PreTokenizer.LLAMA3, "\tand"));
        assertEquals(List.of("I", "'M", " you", "'ll"), split(PreTokenizer.LLAMA3, "I'M you'll"));
    }

    @Test
    void shouldGroupDigitsByThreeForLlama3AndOneForQwen2() {
        assertEquals(List.of("123", "45"), split(PreTokenizer.LLAMA3, "12345"));
        assertEquals(List.of("1", "2", "3", "4", "5"), split(PreTokenizer.QWEN2, "12345"));
        assertEquals(List.of("12345", " 6"), split(PreTokenizer.GPT2, "12345 6"));
    }

    @Test
    void shouldSplitDefaultInFourPasses() {
        assertEquals(List.of("Hello", ",", " world", " ", "123", "4", " ", "$$", "x"),
                split(PreTokenizer.DEFAULT, "Hello, world 1234 $$x"));
    }

    @Test
    void shouldMatchTheLlama3RegexOnRandomText() {
        assertMatchesRegex(PreTokenizer.LLAMA3, LLAMA3, 1);
    }

    @Test
    void shouldMatchTheQwen2RegexOnRandomText() {
        assertMatchesRegex(PreTokenizer.QWEN2, QWEN2, 2);
    }

    @Test
    void shouldMatchTheGpt2RegexOnRandomText() {
        assertMatchesRegex(PreTokenizer.GPT2, GPT2, 3);
    }

    private static void assertMatchesRegex(PreTokenizer pre, Pattern pattern, long seed) {
        int[] alphabet = ALPHABET_SAMPLE.codePoints().toArray();
        Random random = new Random(seed);
        for (int i = 0; i < 5000; i++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(16);
            for (int j = 0; j < length; j++) {
                text.appendCodePoint(alphabet[random.nextInt(alphabet.length)]);
            }
            String s = text.toString();
            assertEquals(regexSplit(pattern, s), split(pre, s), () -> "text: " + escape(s));
        }
    }

    @Test
    void shouldRejectAnUnknownPreTokenizer() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> PreTokenizer.forName("no-such-pre"));
        assertEquals(true, e.getMessage().contains("tokenizer.ggml.pre 'no-such-pre'"), e.getMessage());
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> b.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp) : String.format("\\u{%X}", cp)));
        return b.toString();
    }
}
