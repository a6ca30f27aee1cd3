package dev.baton.engine.tokenizer;

/**
 * Splits text into the words byte-level BPE merges within, chosen by {@code tokenizer.ggml.pre}.
 * Each splitter is a port of llama.cpp's hand-written equivalent of the model's regular expression
 * ({@code unicode_regex_split_custom_*}), which is what llama.cpp runs, including its handling of
 * whitespace runs before a word and of newlines:
 *
 * <ul>
 *   <li>{@link #LLAMA3}: {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *       ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}
 *   <li>{@link #QWEN2}: the same with {@code \p{N}} (one digit per word)
 *   <li>{@link #GPT2}: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}
 *   <li>{@link #DEFAULT}: llama.cpp's fallback, four passes: runs of punctuation and {@code $+<=>^~|},
 *       then GPT-2, then runs of numbers, then groups of three ASCII digits
 * </ul>
 *
 * <p>Works on code points; a word is reported as its length in code points. Stateless.
 */
enum PreTokenizer {
    DEFAULT,
    GPT2,
    LLAMA3,
    QWEN2;

    /** The pre-tokenizer llama.cpp selects for a {@code tokenizer.ggml.pre} value (null: none given). */
    static PreTokenizer forName(String pre) {
        if (pre == null) {
            return DEFAULT;
        }
        return switch (pre) {
            case "default" -> DEFAULT;
            case "gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                    "a.x-4.0", "mellum", "modern-bert", "exaone4", "mpt", "olmo" -> GPT2;
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                    "jina-v5-nano", "dbrx", "smaug-bpe" -> LLAMA3;
            case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan" -> QWEN2;
            default -> throw new TokenizerException("unsupported " + Vocabulary.KEY_PRE + " '" + pre
                    + "' (supported: default, gpt2, llama-bpe and its aliases, qwen2 and its aliases)");
        };
    }

    /**
     * Whether llama.cpp sets {@code ignore_merges} and {@code add_bos} for this {@code tokenizer.ggml.pre}
     * (the Llama 3 names; not dbrx and smaug-bpe, which only share the regular expression).
     */
    static boolean isLlama3Family(String pre) {
        return switch (pre == null ? "" : pre) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                    "jina-v5-nano" -> true;
            default -> false;
        };
    }

    /** Appends to {@code wordLengths} the length, in code points, of each word of {@code cps[0, n)}. */
    void split(int[] cps, int n, IntList wordLengths) {
        if (n == 0) {
            return;
        }
        switch (this) {
            case LLAMA3 -> llama3(cps, 0, n, 3, wordLengths);
            case QWEN2 -> llama3(cps, 0, n, 1, wordLengths);
            case GPT2 -> gpt2(cps, 0, n, wordLengths);
            case DEFAULT -> splitDefault(cps, n, wordLengths);
        }
    }

    private static void splitDefault(int[] cps, int n, IntList out) {
        IntList a = new IntList(16);
        IntList b = new IntList(16);
        runs(cps, 0, n, a, true);
        int start = 0;
        for (int i = 0; i < a.size(); i++) {
            gpt2(cps, start, start + a.get(i), b);
            start += a.get(i);
        }
        a.clear();
        start = 0;
        for (int i = 0; i < b.size(); i++) {
            runs(cps, start, start + b.get(i), a, false);
            start += b.get(i);
        }
        start = 0;
        for (int i = 0; i < a.size(); i++) {
            digitTriples(cps, start, start + a.get(i), out);
            start += a.get(i);
        }
    }

    /** Maximal runs of punctuation ({@code [\p{P}\$\+<=>\^~\|]+}) or of numbers ({@code \p{N}+}), and the gaps between. */
    private static void runs(int[] c, int ini, int end, IntList out, boolean punctuation) {
        int pos = ini;
        while (pos < end) {
            boolean in = punctuation ? isDefaultPunctuation(c[pos]) : UnicodeClass.isNumber(c[pos]);
            int from = pos;
            do {
                pos++;
            } while (pos < end && (punctuation ? isDefaultPunctuation(c[pos]) : UnicodeClass.isNumber(c[pos])) == in);
            out.add(pos - from);
        }
    }

    private static boolean isDefaultPunctuation(int cp) {
        return UnicodeClass.isPunctuation(cp) || cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>'
                || cp == '^' || cp == '~' || cp == '|';
    }

    /** {@code [0-9][0-9][0-9]}, searched left to right, and the gaps between matches. */
    private static void digitTriples(int[] c, int ini, int end, IntList out) {
        int gapStart = ini;
        int pos = ini;
        while (pos + 3 <= end) {
            if (isAsciiDigit(c[pos]) && isAsciiDigit(c[pos + 1]) && isAsciiDigit(c[pos + 2])) {
                if (pos > gapStart) {
                    out.add(pos - gapStart);
                }
                out.add(3);
                pos += 3;
                gapStart = pos;
            } else {
                pos++;
            }
        }
        if (end > gapStart) {
            out.add(end - gapStart);
        }
    }

    private static boolean isAsciiDigit(int cp) {
        return cp >= '0' && cp <= '9';
    }

    /** llama.cpp's {@code unicode_regex_split_custom_gpt2}. */
    private static void gpt2(int[] c, int ini, int end, IntList out) {
        int pos = ini;
        while (pos < end) {
            int cpt = c[pos];
            if (cpt == '\'' && pos + 1 < end) {
                int next = c[pos + 1];
                if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                    out.add(2);
                    pos += 2;
                    continue;
                }
                if (pos + 2 < end) {
                    int nextNext = c[pos + 2];
                    if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
                        out.add(3);
                        pos += 3;
                        continue;
                    }
                }
            }
            int from = pos;
            int probe = cpt == ' ' ? pos + 1 : pos;
            int skip = cpt == ' ' ? 1 : 0;
            if (letter(c, probe, end)) {
                pos += skip;
                while (letter(c, pos, end)) {
                    pos++;
                }
                out.add(pos - from);
                continue;
            }
            if (number(c, probe, end)) {
                pos += skip;
                while (number(c, pos, end)) {
                    pos++;
                }
                out.add(pos - from);
                continue;
            }
            if (other(c, probe, end)) {
                pos += skip;
                while (other(c, pos, end)) {
                    pos++;
                }
                out.add(pos - from);
                continue;
            }
            int spaces = 0;
            while (space(c, pos + spaces, end)) {
                spaces++;
            }
            if (spaces > 1 && pos + spaces < end) { // \s+(?!\S): leave the last space to the next word
                pos += spaces - 1;
            } else if (spaces > 0) {
                pos += spaces;
            } else {
                pos++;
            }
            out.add(pos - from);
        }
    }

    /** llama.cpp's {@code unicode_regex_split_custom_llama3}, with numbers grouped by up to {@code maxDigits}. */
    private static void llama3(int[] c, int ini, int end, int maxDigits, IntList out) {
        int pos = ini;
        while (pos < end) {
            int cpt = c[pos];
            if (cpt == '\'' && pos + 1 < end) { // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                int next = Character.toLowerCase(c[pos + 1]);
                if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                    out.add(2);
                    pos += 2;
                    continue;
                }
                if (pos + 2 < end) {
                    int nextNext = Character.toLowerCase(c[pos + 2]);
                    if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l')) {
                        out.add(3);
                        pos += 3;
                        continue;
                    }
                }
            }
            int from = pos;
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (cpt != '\r' && cpt != '\n' && !UnicodeClass.isNumber(cpt)
                    && (UnicodeClass.isLetter(cpt) || letter(c, pos + 1, end))) {
                pos++;
                while (letter(c, pos, end)) {
                    pos++;
                }
                out.add(pos - from);
                continue;
            }
            // \p{N}{1,3} (Llama 3) or \p{N} (Qwen2)
            if (UnicodeClass.isNumber(cpt)) {
                int group = pos;
                while (number(c, pos, end)) {
                    if (++pos - group >= maxDigits) {
                        out.add(pos - group);
                        group = pos;
                    }
                }
                if (pos > group) {
                    out.add(pos - group);
                }
                continue;
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            int probe = cpt == ' ' ? pos + 1 : pos;
            if (probe >= end || other(c, probe, end)) {
                pos += cpt == ' ' ? 1 : 0;
                while (other(c, pos, end)) {
                    pos++;
                }
                while (pos < end && (c[pos] == '\r' || c[pos] == '\n')) {
                    pos++;
                }
                out.add(pos - from);
                continue;
            }
            int spaces = 0;
            int lastNewlineEnd = 0;
            while (space(c, pos + spaces, end)) {
                int s = c[pos + spaces];
                if (s == '\r' || s == '\n') {
                    lastNewlineEnd = pos + spaces + 1;
                }
                spaces++;
            }
            if (lastNewlineEnd > 0) { // \s*[\r\n]+
                pos = lastNewlineEnd;
            } else if (spaces > 1 && pos + spaces < end) { // \s+(?!\S)
                pos += spaces - 1;
            } else if (spaces > 0) { // \s+
                pos += spaces;
            } else {
                pos++;
            }
            out.add(pos - from);
        }
    }

    private static boolean letter(int[] c, int pos, int end) {
        return pos < end && UnicodeClass.isLetter(c[pos]);
    }

    private static boolean number(int[] c, int pos, int end) {
        return pos < end && UnicodeClass.isNumber(c[pos]);
    }

    private static boolean space(int[] c, int pos, int end) {
        return pos < end && UnicodeClass.isWhitespace(c[pos]);
    }

    /** {@code [^\s\p{L}\p{N}]} at {@code pos}, which must be inside the chunk. */
    private static boolean other(int[] c, int pos, int end) {
        if (pos >= end) {
            return false;
        }
        int cp = c[pos];
        return !UnicodeClass.isWhitespace(cp) && !UnicodeClass.isLetter(cp) && !UnicodeClass.isNumber(cp);
    }
}
