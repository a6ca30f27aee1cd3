package dev.baton.common;

import java.util.HexFormat;

/** The 32-hex-digit text form of the 128-bit hash records ({@code hi} first). */
final class Hex {

    private Hex() {}

    static String format128(long hi, long lo) {
        HexFormat h = HexFormat.of();
        return h.toHexDigits(hi) + h.toHexDigits(lo);
    }

    /** Returns {@code {hi, lo}}. */
    static long[] parse128(String hex, String what) {
        if (hex == null || hex.length() != 32) {
            throw new IllegalArgumentException(what + " must be 32 hex digits, got "
                    + (hex == null ? "null" : "\"" + hex + "\" (" + hex.length() + " characters)"));
        }
        try {
            return new long[] {HexFormat.fromHexDigitsToLong(hex, 0, 16), HexFormat.fromHexDigitsToLong(hex, 16, 32)};
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " must be 32 hex digits, got \"" + hex + "\"", e);
        }
    }
}
