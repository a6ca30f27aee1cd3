package dev.baton.engine.tokenizer;

import dev.baton.engine.gguf.GgufMetadata;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The token list of a model with each token's attributes and score, the special ids and the
 * add-BOS/EOS flags, read from GGUF metadata the way llama.cpp's {@code llama_vocab::load} reads them.
 *
 * <p>Immutable after construction; shared by the tokenizer built on it.
 */
final class Vocabulary {

    static final String KEY_MODEL = "tokenizer.ggml.model";
    static final String KEY_PRE = "tokenizer.ggml.pre";
    static final String KEY_TOKENS = "tokenizer.ggml.tokens";
    static final String KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String KEY_SCORES = "tokenizer.ggml.scores";
    static final String KEY_MERGES = "tokenizer.ggml.merges";
    static final String KEY_BOS_ID = "tokenizer.ggml.bos_token_id";
    static final String KEY_EOS_ID = "tokenizer.ggml.eos_token_id";
    static final String KEY_UNK_ID = "tokenizer.ggml.unknown_token_id";
    static final String KEY_EOT_ID = "tokenizer.ggml.eot_token_id";
    static final String KEY_EOM_ID = "tokenizer.ggml.eom_token_id";
    static final String KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String KEY_ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String KEY_ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    // Token attributes (llama_token_attr); a token has exactly one after loading.
    static final int ATTR_UNDEFINED = 0;
    static final int ATTR_UNKNOWN = 1;
    static final int ATTR_UNUSED = 1 << 1;
    static final int ATTR_NORMAL = 1 << 2;
    static final int ATTR_CONTROL = 1 << 3;
    static final int ATTR_USER_DEFINED = 1 << 4;
    static final int ATTR_BYTE = 1 << 5;

    /** Texts llama.cpp treats as end of generation (and forces to control tokens). */
    private static final Set<String> EOG_TEXTS = Set.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
            "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
            "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
            "<｜end▁of▁sentence｜>", "[e~[");

    /** Fill-in-the-middle markers llama.cpp forces to control tokens; the last three also end generation. */
    private static final String[][] FIM_TEXTS = {
        {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"},
        {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"},
        {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"},
        {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
        {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
        {"<|file_sep|>"},
    };
    private static final String[] FIM_KEYS = {
        "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.fim_mid_token_id",
        "tokenizer.ggml.fim_pad_token_id", "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id",
    };

    /** Per model type: the defaults llama.cpp uses when the metadata does not say. */
    record Defaults(int bosId, int eosId, int unkId, boolean addBos, boolean addEos) {}

    private final String[] texts;
    private final float[] scores;
    private final int[] attrs;
    private final TextIndex idByText;
    private final int maxTextLength;
    private final int bosId;
    private final int eosId;
    private final int unkId;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean[] endOfGeneration;
    /** Control, user-defined and unknown tokens, longest text first: the order text is split on them. */
    private final int[] specialIdsLongestFirst;

    Vocabulary(GgufMetadata m, Defaults defaults) {
        if (!m.has(KEY_TOKENS)) {
            throw new TokenizerException("missing metadata key '" + KEY_TOKENS + "' (the token list)");
        }
        String[] raw = m.getStringArray(KEY_TOKENS);
        int n = raw.length;
        if (n == 0) {
            throw new TokenizerException("metadata '" + KEY_TOKENS + "' is empty");
        }
        texts = new String[n];
        idByText = new TextIndex(n);
        int longest = 0;
        for (int i = 0; i < n; i++) {
            String t = raw[i].isEmpty() ? "[EMPTY_" + i + "]" : raw[i];
            texts[i] = t;
            longest = Math.max(longest, t.length());
            int previous = idByText.putIfAbsent(t, i);
            if (previous >= 0) {
                throw new TokenizerException("metadata '" + KEY_TOKENS + "': duplicate token '" + t
                        + "' at ids " + previous + " and " + i);
            }
        }
        maxTextLength = longest;
        scores = readScores(m, n);
        attrs = readAttrs(m, n);

        bosId = specialId(m, KEY_BOS_ID, defaults.bosId(), n);
        eosId = specialId(m, KEY_EOS_ID, defaults.eosId(), n);
        unkId = specialId(m, KEY_UNK_ID, defaults.unkId(), n);
        int eotId = specialId(m, KEY_EOT_ID, -1, n);
        int eomId = specialId(m, KEY_EOM_ID, -1, n);
        addBos = m.getBoolean(KEY_ADD_BOS, defaults.addBos());
        addEos = m.getBoolean(KEY_ADD_EOS, defaults.addEos());
        if (addBos && bosId < 0) {
            throw new TokenizerException(KEY_ADD_BOS + " is true, but " + KEY_BOS_ID + " is not set");
        }
        if (addEos && eosId < 0) {
            throw new TokenizerException(KEY_ADD_EOS + " is true, but " + KEY_EOS_ID + " is not set");
        }

        endOfGeneration = new boolean[n];
        markFillInTheMiddle(m, n);
        for (int i = 0; i < n; i++) {
            if (EOG_TEXTS.contains(texts[i])) {
                endOfGeneration[i] = true;
                attrs[i] |= ATTR_CONTROL;
            }
        }
        for (String t : new String[] {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
            int id = idByText.get(t);
            if (id >= 0) {
                attrs[id] = ATTR_USER_DEFINED; // llama.cpp: always rendered for gpt-oss
            }
        }
        for (int id : new int[] {eosId, eotId, eomId}) {
            if (id >= 0) {
                endOfGeneration[id] = true;
            }
        }
        applyEndOfGenerationWorkarounds();
        specialIdsLongestFirst = sortSpecialIds(n);
    }

    private static float[] readScores(GgufMetadata m, int n) {
        float[] s = new float[n];
        if (!m.has(KEY_SCORES)) {
            return s;
        }
        Object v = m.get(KEY_SCORES);
        if (v instanceof long[]) {
            int[] ints = m.getIntArray(KEY_SCORES);
            checkLength(KEY_SCORES, ints.length, n);
            for (int i = 0; i < n; i++) {
                s[i] = ints[i];
            }
            return s;
        }
        float[] f = m.getFloatArray(KEY_SCORES);
        checkLength(KEY_SCORES, f.length, n);
        System.arraycopy(f, 0, s, 0, n);
        return s;
    }

    private static int[] readAttrs(GgufMetadata m, int n) {
        int[] a = new int[n];
        if (!m.has(KEY_TOKEN_TYPE)) {
            Arrays.fill(a, ATTR_NORMAL);
            return a;
        }
        int[] types = m.getIntArray(KEY_TOKEN_TYPE);
        checkLength(KEY_TOKEN_TYPE, types.length, n);
        for (int i = 0; i < n; i++) {
            a[i] = switch (types[i]) {
                case 1 -> ATTR_NORMAL;
                case 2 -> ATTR_UNKNOWN;
                case 3 -> ATTR_CONTROL;
                case 4 -> ATTR_USER_DEFINED;
                case 5 -> ATTR_UNUSED;
                case 6 -> ATTR_BYTE;
                default -> ATTR_UNDEFINED;
            };
        }
        return a;
    }

    private static void checkLength(String key, int length, int tokenCount) {
        if (length < tokenCount) {
            throw new TokenizerException("metadata '" + key + "' has " + length + " entries for "
                    + tokenCount + " tokens");
        }
    }

    /** llama.cpp: a default id outside the vocabulary is disabled; a bad id in the metadata keeps the default. */
    private static int specialId(GgufMetadata m, String key, int defaultId, int n) {
        int id = defaultId >= n ? -1 : defaultId;
        if (m.has(key)) {
            long v = m.getLong(key);
            if (v >= 0 && v < n) {
                id = (int) v;
            }
        }
        return id;
    }

    private void markFillInTheMiddle(GgufMetadata m, int n) {
        for (int kind = 0; kind < FIM_TEXTS.length; kind++) {
            int id = specialId(m, FIM_KEYS[kind], -1, n);
            if (id < 0) {
                id = firstIdOf(FIM_TEXTS[kind]);
                if (id >= 0) {
                    attrs[id] |= ATTR_CONTROL;
                }
            }
            if (id >= 0 && kind >= 3) { // pad, repo and file separator end generation
                endOfGeneration[id] = true;
            }
        }
    }

    private int firstIdOf(String[] candidates) {
        int best = -1;
        for (String c : candidates) {
            int id = idByText.get(c);
            if (id >= 0 && (best < 0 || id < best)) {
                best = id;
            }
        }
        return best;
    }

    /** llama.cpp's fixes for gpt-oss / solar-open ({@code <|end|>}) and gemma4 ({@code </s>}). */
    private void applyEndOfGenerationWorkarounds() {
        boolean hasReturn = eogHas("<|return|>");
        boolean hasCall = eogHas("<|call|>") || eogHas("<|calls|>");
        boolean hasFlush = eogHas("<|flush|>");
        int end = idByText.get("<|end|>");
        if (end >= 0 && endOfGeneration[end] && ((hasReturn && hasCall) || (hasCall && hasFlush))) {
            endOfGeneration[end] = false;
            attrs[end] = ATTR_USER_DEFINED;
        }
        int s = idByText.get("</s>");
        if (s >= 0 && endOfGeneration[s] && eogHas("<|tool_response>")) {
            endOfGeneration[s] = false;
            attrs[s] = ATTR_NORMAL;
        }
    }

    private boolean eogHas(String text) {
        int id = idByText.get(text);
        return id >= 0 && endOfGeneration[id];
    }

    /** llama.cpp sorts by UTF-8 length, longest first; equal lengths keep id order here. */
    private int[] sortSpecialIds(int n) {
        List<Integer> ids = new ArrayList<>();
        int[] lengths = new int[n];
        for (int id = 0; id < n; id++) {
            if ((attrs[id] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
                ids.add(id);
                lengths[id] = texts[id].getBytes(StandardCharsets.UTF_8).length;
            }
        }
        ids.sort((a, b) -> lengths[a] != lengths[b] ? Integer.compare(lengths[b], lengths[a]) : Integer.compare(a, b));
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    int size() {
        return texts.length;
    }

    String text(int id) {
        return texts[id];
    }

    float score(int id) {
        return scores[id];
    }

    int attr(int id) {
        return attrs[id];
    }

    /** The id of the token with exactly this text, or -1. */
    int id(String text) {
        return idByText.get(text);
    }

    /** The id of the token whose text is {@code s[from, to)}, or -1; no copy is made. */
    int id(String s, int from, int to) {
        return to - from > maxTextLength ? -1 : idByText.get(s, from, to);
    }

    int bosId() {
        return bosId;
    }

    int eosId() {
        return eosId;
    }

    int unkId() {
        return unkId;
    }

    boolean addBos() {
        return addBos;
    }

    boolean addEos() {
        return addEos;
    }

    boolean isEndOfGeneration(int id) {
        return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
    }

    int[] specialIdsLongestFirst() {
        return specialIdsLongestFirst;
    }
}
