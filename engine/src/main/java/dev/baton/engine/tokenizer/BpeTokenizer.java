package dev.baton.engine.tokenizer;

import dev.baton.engine.gguf.GgufMetadata;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}), as llama.cpp's {@code llm_tokenizer_bpe}:
 * the text is split into words by the {@link PreTokenizer} of {@code tokenizer.ggml.pre}, each word's
 * UTF-8 bytes are mapped to GPT-2's byte characters, and adjacent symbols are merged, lowest merge
 * rank ({@code tokenizer.ggml.merges} order) first and leftmost on a tie, until no pair of the word
 * has a rank. With {@code ignore_merges} (the Llama 3 family) a word that is itself a token is taken
 * whole.
 *
 * <p>Merge texts are interned to ids at construction, so the merge loop looks up ranks by a pair of
 * ints and never builds strings. Immutable and thread-safe; each {@code encode} call uses its own
 * scratch arrays.
 */
final class BpeTokenizer extends VocabularyTokenizer {

    private final PreTokenizer preTokenizer;
    private final boolean ignoreMerges;
    /** Rank of merging part a with part b, keyed {@code a << 32 | b}. */
    private final LongIntMap rankByPair;
    /** The part a merge of that rank produces. */
    private final int[] partOfRank;
    /** The token whose text is the part, or -1. */
    private final int[] tokenOfPart;
    /** The part of each single GPT-2 byte character. */
    private final int[] partOfChar = new int[0x144];

    private BpeTokenizer(Vocabulary vocab, String pre, String[] merges) {
        super(vocab, true);
        this.preTokenizer = PreTokenizer.forName(pre);
        this.ignoreMerges = PreTokenizer.isLlama3Family(pre);

        Map<String, Integer> partIds = HashMap.newHashMap(merges.length * 2 + 256);
        for (int b = 0; b < 256; b++) {
            char c = ByteLevel.charOf(b);
            partOfChar[c] = intern(partIds, String.valueOf(c));
        }
        rankByPair = new LongIntMap(merges.length);
        int[] resultParts = new int[merges.length];
        for (int rank = 0; rank < merges.length; rank++) {
            String merge = merges[rank];
            int space = merge.indexOf(' ', 1);
            if (space < 0) {
                resultParts[rank] = -1; // llama.cpp files it under ("", ""), which never matches
                continue;
            }
            String first = merge.substring(0, space);
            String second = merge.substring(space + 1);
            int a = intern(partIds, first);
            int b = intern(partIds, second);
            resultParts[rank] = intern(partIds, first + second);
            rankByPair.putIfAbsent(pairKey(a, b), rank);
        }
        partOfRank = resultParts;
        tokenOfPart = new int[partIds.size()];
        for (Map.Entry<String, Integer> e : partIds.entrySet()) {
            tokenOfPart[e.getValue()] = vocab.id(e.getKey());
        }
    }

    static BpeTokenizer fromGguf(GgufMetadata m) {
        String pre = m.getString(Vocabulary.KEY_PRE, null);
        PreTokenizer.forName(pre); // fail on an unknown pre-tokenizer before reading the vocabulary
        if (!m.has(Vocabulary.KEY_MERGES)) {
            throw new TokenizerException("missing metadata key '" + Vocabulary.KEY_MERGES
                    + "' (required for " + Vocabulary.KEY_MODEL + " 'gpt2')");
        }
        String[] merges = m.getStringArray(Vocabulary.KEY_MERGES);
        // llama.cpp's defaults for BPE vocabularies: BOS = EOS = 11, BOS added for the Llama 3 family.
        Vocabulary vocab = new Vocabulary(m, new Vocabulary.Defaults(11, 11, -1, PreTokenizer.isLlama3Family(pre), false));
        return new BpeTokenizer(vocab, pre, merges);
    }

    private static int intern(Map<String, Integer> ids, String s) {
        Integer id = ids.putIfAbsent(s, ids.size());
        return id == null ? ids.size() - 1 : id;
    }

    private static long pairKey(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        int[] cps = text.codePoints().toArray();
        IntList words = new IntList(cps.length / 4 + 4);
        preTokenizer.split(cps, cps.length, words);
        Scratch s = new Scratch();
        StringBuilder word = new StringBuilder();
        byte[] utf8 = new byte[4];
        int at = 0;
        for (int w = 0; w < words.size(); w++) {
            word.setLength(0);
            for (int end = at + words.get(w); at < end; at++) {
                int n = utf8(cps[at], utf8);
                for (int i = 0; i < n; i++) {
                    word.append(ByteLevel.charOf(utf8[i]));
                }
            }
            mergeWord(word, s, out);
        }
    }

    /** Writes the UTF-8 encoding of a code point (never a surrogate: the input is well-formed). */
    private static int utf8(int cp, byte[] out) {
        if (cp < 0x80) {
            out[0] = (byte) cp;
            return 1;
        }
        if (cp < 0x800) {
            out[0] = (byte) (0xC0 | (cp >> 6));
            out[1] = (byte) (0x80 | (cp & 0x3F));
            return 2;
        }
        if (cp < 0x10000) {
            out[0] = (byte) (0xE0 | (cp >> 12));
            out[1] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            out[2] = (byte) (0x80 | (cp & 0x3F));
            return 3;
        }
        out[0] = (byte) (0xF0 | (cp >> 18));
        out[1] = (byte) (0x80 | ((cp >> 12) & 0x3F));
        out[2] = (byte) (0x80 | ((cp >> 6) & 0x3F));
        out[3] = (byte) (0x80 | (cp & 0x3F));
        return 4;
    }

    /** The scratch arrays of one encode call, one entry per symbol of the current word. */
    private static final class Scratch {
        int[] part = new int[64];
        int[] length = new int[64];
        int[] prev = new int[64];
        int[] next = new int[64];
        final BigramQueue queue = new BigramQueue();

        void ensure(int n) {
            if (part.length < n) {
                int c = Math.max(n, part.length * 2);
                part = Arrays.copyOf(part, c);
                length = Arrays.copyOf(length, c);
                prev = Arrays.copyOf(prev, c);
                next = Arrays.copyOf(next, c);
            }
        }
    }

    /** llama.cpp's {@code llm_tokenizer_bpe_session::tokenize} for one word (in GPT-2 byte characters). */
    private void mergeWord(CharSequence word, Scratch s, IntList out) {
        int n = word.length();
        if (n == 0) {
            return;
        }
        if (ignoreMerges) {
            int whole = vocab.id(word.toString());
            if (whole >= 0) {
                out.add(whole);
                return;
            }
        }
        s.ensure(n);
        for (int i = 0; i < n; i++) {
            s.part[i] = partOfChar[word.charAt(i)];
            s.length[i] = 1;
            s.prev[i] = i - 1;
            s.next[i] = i + 1 < n ? i + 1 : -1;
        }
        BigramQueue q = s.queue;
        q.clear();
        for (int i = 1; i < n; i++) {
            addBigram(s, i - 1, i);
        }
        while (!q.isEmpty()) {
            q.pop();
            int l = q.left();
            int r = q.right();
            // Stale when either side has changed since the pair was queued.
            if (s.length[l] == 0 || s.length[r] == 0 || s.length[l] + s.length[r] != q.length()) {
                continue;
            }
            s.part[l] = partOfRank[rankOf(s, l, r)];
            s.length[l] += s.length[r];
            s.length[r] = 0;
            s.next[l] = s.next[r];
            if (s.next[l] >= 0) {
                s.prev[s.next[l]] = l;
            }
            addBigram(s, s.prev[l], l);
            addBigram(s, l, s.next[l]);
        }
        for (int i = 0; i >= 0; i = s.next[i]) {
            int token = tokenOfPart[s.part[i]];
            if (token >= 0) {
                out.add(token);
                continue;
            }
            // Not a token: llama.cpp falls back to the single-byte strings, which only ASCII characters can be.
            for (int c = i; c < i + s.length[i]; c++) {
                char ch = word.charAt(c);
                int id = ch < 0x80 ? vocab.id(String.valueOf(ch)) : -1;
                if (id >= 0) {
                    out.add(id);
                }
            }
        }
    }

    private int rankOf(Scratch s, int l, int r) {
        return rankByPair.get(pairKey(s.part[l], s.part[r]));
    }

    private void addBigram(Scratch s, int l, int r) {
        if (l < 0 || r < 0) {
            return;
        }
        int rank = rankOf(s, l, r);
        if (rank >= 0) {
            s.queue.push(rank, l, r, s.length[l] + s.length[r]);
        }
    }
}
