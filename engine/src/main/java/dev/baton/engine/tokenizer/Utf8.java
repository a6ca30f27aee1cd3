package dev.baton.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * UTF-8 decoding that replaces each maximal invalid subpart with one U+FFFD (the Unicode / WHATWG
 * practice, and Python's {@code errors="replace"}), where the JDK decoder replaces some invalid
 * sequences (encoded surrogates, for one) as a whole. Stateless.
 */
final class Utf8 {
    private Utf8() {}

    static String decode(byte[] b, int offset, int length) {
        if (isValid(b, offset, length)) {
            return new String(b, offset, length, StandardCharsets.UTF_8);
        }
        StringBuilder out = new StringBuilder(length);
        int needed = 0;
        int seen = 0;
        int cp = 0;
        int lower = 0x80;
        int upper = 0xBF;
        int end = offset + length;
        for (int i = offset; i < end; ) {
            int v = b[i] & 0xFF;
            if (needed == 0) {
                i++;
                if (v < 0x80) {
                    out.append((char) v);
                } else if (v >= 0xC2 && v <= 0xDF) {
                    needed = 1;
                    cp = v & 0x1F;
                } else if (v >= 0xE0 && v <= 0xEF) {
                    lower = v == 0xE0 ? 0xA0 : 0x80;
                    upper = v == 0xED ? 0x9F : 0xBF;
                    needed = 2;
                    cp = v & 0x0F;
                } else if (v >= 0xF0 && v <= 0xF4) {
                    lower = v == 0xF0 ? 0x90 : 0x80;
                    upper = v == 0xF4 ? 0x8F : 0xBF;
                    needed = 3;
                    cp = v & 0x07;
                } else {
                    out.append('\uFFFD');
                }
                continue;
            }
            if (v < lower || v > upper) {
                out.append('\uFFFD'); // the sequence so far is one invalid subpart; v starts afresh
                needed = 0;
                seen = 0;
                lower = 0x80;
                upper = 0xBF;
                continue;
            }
            i++;
            lower = 0x80;
            upper = 0xBF;
            cp = (cp << 6) | (v & 0x3F);
            if (++seen == needed) {
                out.appendCodePoint(cp);
                needed = 0;
                seen = 0;
            }
        }
        if (needed != 0) {
            out.append('\uFFFD');
        }
        return out.toString();
    }

    private static boolean isValid(byte[] b, int offset, int length) {
        int end = offset + length;
        int i = offset;
        while (i < end) {
            int v = b[i] & 0xFF;
            if (v < 0x80) {
                i++;
                continue;
            }
            int need;
            int lower = 0x80;
            int upper = 0xBF;
            if (v >= 0xC2 && v <= 0xDF) {
                need = 1;
            } else if (v >= 0xE0 && v <= 0xEF) {
                need = 2;
                lower = v == 0xE0 ? 0xA0 : 0x80;
                upper = v == 0xED ? 0x9F : 0xBF;
            } else if (v >= 0xF0 && v <= 0xF4) {
                need = 3;
                lower = v == 0xF0 ? 0x90 : 0x80;
                upper = v == 0xF4 ? 0x8F : 0xBF;
            } else {
                return false;
            }
            if (i + need >= end) {
                return false; // truncated
            }
            int second = b[i + 1] & 0xFF;
            if (second < lower || second > upper) {
                return false;
            }
            for (int k = 2; k <= need; k++) {
                if ((b[i + k] & 0xC0) != 0x80) {
                    return false;
                }
            }
            i += need + 1;
        }
        return true;
    }
}
