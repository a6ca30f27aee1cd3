package dev.baton.engine.tokenizer;

import dev.baton.engine.gguf.GgufMetadata;
import java.nio.charset.StandardCharsets;

/**
 * SentencePiece BPE ({@code tokenizer.ggml.model = llama}), as llama.cpp's {@code llm_tokenizer_spm}:
 * a space is put before the text at the start and after each special token
 * ({@code tokenizer.ggml.add_space_prefix}, default true), spaces become '▁', and starting from single
 * characters the adjacent pair whose joined text is a token with the highest score
 * ({@code tokenizer.ggml.scores}) is merged, leftmost on a tie, until no pair is a token. A character
 * that is not a token falls back to its UTF-8 bytes as {@code <0xXX>} tokens.
 *
 * <p>Immutable and thread-safe; each {@code encode} call uses its own scratch arrays.
 */
final class SpmTokenizer extends VocabularyTokenizer {

    private final boolean addSpacePrefix;
    /** llama.cpp's {@code byte_to_token}: {@code <0xXX>}, else the one-byte text, else unknown (-1: none). */
    private final int[] tokenOfByte = new int[256];

    private SpmTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        super(vocab, false);
        this.addSpacePrefix = addSpacePrefix;
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                id = vocab.id(String.valueOf((char) b));
            }
            tokenOfByte[b] = id >= 0 ? id : vocab.unkId();
        }
    }

    static SpmTokenizer fromGguf(GgufMetadata m) {
        // llama.cpp's defaults for SentencePiece vocabularies: <unk> 0, <s> 1, </s> 2, BOS added.
        Vocabulary vocab = new Vocabulary(m, new Vocabulary.Defaults(1, 2, 0, true, false));
        return new SpmTokenizer(vocab, m.getBoolean(Vocabulary.KEY_ADD_SPACE_PREFIX, true));
    }

    @Override
    void encodeText(String fragment, boolean afterSpecial, IntList out) {
        String text = ((addSpacePrefix && afterSpecial) ? " " + fragment : fragment).replace(' ', '▁');
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, at = 0; i < n; i++) {
            int len = Character.charCount(text.codePointAt(at));
            start[i] = at;
            length[i] = len;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            at += len;
        }
        BigramQueue q = new BigramQueue();
        for (int i = 1; i < n; i++) {
            addBigram(text, start, length, q, i - 1, i);
        }
        while (!q.isEmpty()) {
            q.pop();
            int l = q.left();
            int r = q.right();
            if (length[l] == 0 || length[r] == 0 || length[l] + length[r] != q.length()) {
                continue; // stale: one side has been merged since
            }
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[l] >= 0) {
                prev[next[l]] = l;
            }
            addBigram(text, start, length, q, prev[l], l);
            addBigram(text, start, length, q, l, next[l]);
        }
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            int id = vocab.id(text, start[i], start[i] + length[i]);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            // Only single characters can miss: every merged symbol is a token.
            String piece = text.substring(start[i], start[i] + length[i]);
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int byteToken = tokenOfByte[b & 0xFF];
                if (byteToken >= 0) {
                    out.add(byteToken);
                }
            }
        }
    }

    /** Queues the merge of symbols {@code l} and {@code r} if their joined text is a token: highest score first. */
    private void addBigram(String text, int[] start, int[] length, BigramQueue q, int l, int r) {
        if (l < 0 || r < 0) {
            return;
        }
        int len = length[l] + length[r];
        int id = vocab.id(text, start[l], start[l] + len);
        if (id >= 0) {
            q.push(-(double) vocab.score(id), l, r, len);
        }
    }
}
