package dev.baton.common;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian stores into byte arrays, for the hash inputs. */
final class LittleEndian {

    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private LittleEndian() {}

    static void putLong(byte[] dst, int offset, long v) {
        LONG_LE.set(dst, offset, v);
    }

    static void putInt(byte[] dst, int offset, int v) {
        INT_LE.set(dst, offset, v);
    }
}
