package dev.baton.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;

/**
 * What the vocabulary-based tokenizers share: splitting out special tokens, BOS/EOS, the bytes of
 * each token (computed once, like llama.cpp's piece cache) and decoding. Subclasses tokenize the text
 * between special tokens. Immutable and thread-safe.
 */
abstract sealed class VocabularyTokenizer implements Tokenizer permits BpeTokenizer, SpmTokenizer {

    private static final byte[] NO_BYTES = new byte[0];

    final Vocabulary vocab;
    private final byte[][] pieces;

    /** {@code byteLevel}: normal tokens are GPT-2 byte-level text (BPE) rather than text with '▁' spaces (SPM). */
    VocabularyTokenizer(Vocabulary vocab, boolean byteLevel) {
        this.vocab = vocab;
        pieces = new byte[vocab.size()][];
        for (int id = 0; id < pieces.length; id++) {
            pieces[id] = piece(vocab, id, byteLevel);
        }
    }

    /** llama.cpp's {@code token_to_piece} with {@code special = false}. */
    private static byte[] piece(Vocabulary vocab, int id, boolean byteLevel) {
        int attr = vocab.attr(id);
        String text = vocab.text(id);
        if ((attr & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) {
            return NO_BYTES;
        }
        if ((attr & Vocabulary.ATTR_USER_DEFINED) != 0) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & Vocabulary.ATTR_NORMAL) != 0) {
            return byteLevel ? byteLevelDecode(text) : text.replace('▁', ' ').getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & Vocabulary.ATTR_BYTE) != 0) {
            if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")
                    && HexFormat.isHexDigit(text.charAt(3)) && HexFormat.isHexDigit(text.charAt(4))) {
                return new byte[] {(byte) HexFormat.fromHexDigits(text, 3, 5)};
            }
            return text.getBytes(StandardCharsets.UTF_8);
        }
        return NO_BYTES; // unused and undefined tokens
    }

    /**
     * Maps each character back to its byte. A character outside GPT-2's mapping (a vocabulary that is
     * not purely byte-level) contributes its own UTF-8 bytes, where llama.cpp writes a marker text.
     */
    private static byte[] byteLevelDecode(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int b = ByteLevel.byteOf(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }

    /** Tokenizes text that holds no special token; {@code afterSpecial}: it starts the input or follows a special token. */
    abstract void encodeText(String text, boolean afterSpecial, IntList out);

    @Override
    public final int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        String input = wellFormed(text);
        IntList out = new IntList(input.length() / 3 + 4);
        if (addSpecial && vocab.addBos()) {
            out.add(vocab.bosId());
        }
        boolean afterSpecial = true;
        for (Fragment f : splitSpecial(input, parseSpecial)) {
            if (f.token() >= 0) {
                out.add(f.token());
                afterSpecial = true;
            } else {
                encodeText(input.substring(f.start(), f.end()), afterSpecial, out);
                afterSpecial = false;
            }
        }
        if (addSpecial && vocab.addEos()) {
            out.add(vocab.eosId());
        }
        return out.toArray();
    }

    /** Lone surrogates become U+FFFD, as invalid UTF-8 does in llama.cpp. */
    private static String wellFormed(String text) {
        StringBuilder fixed = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1));
            if (pair) {
                if (fixed != null) {
                    fixed.append(c).append(text.charAt(i + 1));
                }
                i++;
            } else if (Character.isSurrogate(c)) {
                if (fixed == null) {
                    fixed = new StringBuilder(text.length()).append(text, 0, i);
                }
                fixed.append('\uFFFD');
            } else if (fixed != null) {
                fixed.append(c);
            }
        }
        return fixed == null ? text : fixed.toString();
    }

    /** A special token ({@code token >= 0}) or a run of text {@code [start, end)}. */
    record Fragment(int token, int start, int end) {}

    /**
     * llama.cpp's {@code tokenizer_st_partition}: for each special token, longest first, every
     * occurrence in the text not yet claimed becomes that token. Control and unknown tokens count only
     * when {@code parseSpecial}; user-defined tokens always do.
     */
    List<Fragment> splitSpecial(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Fragment(-1, 0, text.length()));
        for (int id : vocab.specialIdsLongestFirst()) {
            if (!parseSpecial && (vocab.attr(id) & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) {
                continue;
            }
            String token = vocab.text(id);
            if (!text.contains(token)) {
                continue;
            }
            List<Fragment> next = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (f.token() >= 0) {
                    next.add(f);
                    continue;
                }
                int from = f.start();
                int match;
                while ((match = text.indexOf(token, from)) >= 0 && match + token.length() <= f.end()) {
                    if (match > from) {
                        next.add(new Fragment(-1, from, match));
                    }
                    next.add(new Fragment(id, match, match + token.length()));
                    from = match + token.length();
                }
                if (from < f.end()) {
                    next.add(new Fragment(-1, from, f.end()));
                }
            }
            fragments = next;
        }
        return fragments;
    }

    /** The cached bytes of a token, not copied: callers must not modify them. */
    final byte[] piece(int id) {
        return pieces[checkId(id)];
    }

    private int checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IndexOutOfBoundsException("token id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
        return id;
    }

    @Override
    public final byte[] tokenBytes(int id) {
        return piece(id).clone();
    }

    @Override
    public final String decode(int[] ids) {
        int length = 0;
        for (int id : ids) {
            length += piece(id).length;
        }
        byte[] bytes = new byte[length];
        int at = 0;
        for (int id : ids) {
            byte[] p = pieces[id];
            System.arraycopy(p, 0, bytes, at, p.length);
            at += p.length;
        }
        return Utf8.decode(bytes, 0, bytes.length);
    }

    @Override
    public final String tokenText(int id) {
        return vocab.text(checkId(id));
    }

    @Override
    public final int vocabSize() {
        return vocab.size();
    }

    @Override
    public final int bosId() {
        return vocab.bosId();
    }

    @Override
    public final int eosId() {
        return vocab.eosId();
    }

    @Override
    public final boolean isEndOfGeneration(int id) {
        return vocab.isEndOfGeneration(id);
    }

    @Override
    public final OptionalInt tokenId(String text) {
        int id = vocab.id(text);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }
}
