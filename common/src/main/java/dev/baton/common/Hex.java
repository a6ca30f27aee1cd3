package dev.baton.common;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.HexFormat;

/** Formatting and byte-order helpers shared by the 128-bit hash records. */
final class Hex {

    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

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

    static void putLongLe(byte[] dst, int offset, long v) {
        LONG_LE.set(dst, offset, v);
    }

    static void putIntLe(byte[] dst, int offset, int v) {
        INT_LE.set(dst, offset, v);
    }
}
