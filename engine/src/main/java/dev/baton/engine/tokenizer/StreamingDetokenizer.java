package dev.baton.engine.tokenizer;

import java.util.Arrays;

/**
 * Turns one sequence's generated tokens into text as they arrive, never emitting part of a UTF-8
 * character: a token that ends inside a character (a byte token, or a byte-level BPE token holding
 * the first bytes of an emoji) is held until the character is complete.
 *
 * <p>The concatenation of everything {@link #accept} and {@link #flush} return equals
 * {@link Tokenizer#decode} of all the tokens. Bytes that can never complete a character (a stray
 * continuation byte, a lead byte followed by something else) are emitted at once, each maximal
 * invalid subpart as one U+FFFD (Unicode's recommended practice, as Python's
 * {@code errors="replace"}).
 *
 * <p>One instance per sequence; not thread-safe. {@link #accept} runs once per generated token: it
 * copies no token bytes and allocates only the returned string (nothing for an empty result).
 */
public final class StreamingDetokenizer {

    private final Tokenizer tokenizer;
    private final VocabularyTokenizer cached;
    /** Bytes of a character still incomplete; at most 3. */
    private byte[] pending = new byte[16];
    private int pendingLength;

    public StreamingDetokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.cached = tokenizer instanceof VocabularyTokenizer v ? v : null;
    }

    /**
     * Adds one token of the sequence.
     *
     * @return the text completed by this token, possibly empty
     * @throws IndexOutOfBoundsException if {@code tokenId} is not in the vocabulary
     */
    public String accept(int tokenId) {
        byte[] piece = cached != null ? cached.piece(tokenId) : tokenizer.tokenBytes(tokenId);
        if (piece.length == 0) {
            return "";
        }
        if (pendingLength == 0) {
            int complete = completePrefix(piece, piece.length);
            if (complete == piece.length) {
                return Utf8.decode(piece, 0, piece.length);
            }
            append(piece, complete, piece.length - complete);
            return complete == 0 ? "" : Utf8.decode(piece, 0, complete);
        }
        append(piece, 0, piece.length);
        int complete = completePrefix(pending, pendingLength);
        if (complete == 0) {
            return "";
        }
        String text = Utf8.decode(pending, 0, complete);
        System.arraycopy(pending, complete, pending, 0, pendingLength - complete);
        pendingLength -= complete;
        return text;
    }

    /** Ends the sequence: the bytes still held, with an incomplete character as U+FFFD. Resets for reuse. */
    public String flush() {
        if (pendingLength == 0) {
            return "";
        }
        String text = Utf8.decode(pending, 0, pendingLength);
        pendingLength = 0;
        return text;
    }

    private void append(byte[] bytes, int from, int length) {
        if (pendingLength + length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + length));
        }
        System.arraycopy(bytes, from, pending, pendingLength, length);
        pendingLength += length;
    }

    /**
     * The length of {@code b[0, n)} without a trailing incomplete character: {@code n} unless the last
     * bytes are a lead byte and fewer continuation bytes than it needs, all valid so far (so the
     * character may still complete).
     */
    static int completePrefix(byte[] b, int n) {
        int lead = n - 1;
        while (lead >= 0 && lead > n - 4 && (b[lead] & 0xC0) == 0x80) {
            lead--; // skip back over up to 3 continuation bytes
        }
        if (lead < 0 || (b[lead] & 0xC0) == 0x80) {
            return n; // continuation bytes without a lead byte never complete
        }
        int first = b[lead] & 0xFF;
        int need;
        int secondMin = 0x80;
        int secondMax = 0xBF;
        if (first >= 0xC2 && first <= 0xDF) {
            need = 2;
        } else if (first >= 0xE0 && first <= 0xEF) {
            need = 3;
            if (first == 0xE0) {
                secondMin = 0xA0;
            } else if (first == 0xED) {
                secondMax = 0x9F;
            }
        } else if (first >= 0xF0 && first <= 0xF4) {
            need = 4;
            if (first == 0xF0) {
                secondMin = 0x90;
            } else if (first == 0xF4) {
                secondMax = 0x8F;
            }
        } else {
            return n; // ASCII, or a byte that never starts a character
        }
        int have = n - lead;
        if (have >= need) {
            return n;
        }
        if (have >= 2) {
            int second = b[lead + 1] & 0xFF;
            if (second < secondMin || second > secondMax) {
                return n; // can never complete: emit as replacement now
            }
        }
        return lead;
    }
}
