package dev.baton.kvtransfer.aeron;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.util.zip.CRC32C;

/**
 * A CRC32C (Castagnoli, as {@link CRC32C}) computed over native memory in pieces, by address, with
 * no allocation: the JDK's intrinsic for direct buffers, reached through a method handle. That needs
 * {@code --add-opens java.base/java.util.zip=ALL-UNNAMED}; without it the same values are computed
 * through a {@link CRC32C} and a {@link java.nio.ByteBuffer} view per call (which allocates).
 * One instance per thread; not thread-safe.
 */
final class RunningCrc32c {

    private static final MethodHandle UPDATE_DIRECT = updateDirectHandle();

    private final CRC32C fallback = UPDATE_DIRECT == null ? new CRC32C() : null;
    private int state = -1;

    /** Whether the allocation-free path is in use. */
    static boolean isDirect() {
        return UPDATE_DIRECT != null;
    }

    /** Starts a new checksum. */
    void reset() {
        state = -1;
        if (fallback != null) {
            fallback.reset();
        }
    }

    /** Adds {@code length} bytes at native {@code address}. */
    void update(long address, int length) {
        if (UPDATE_DIRECT != null) {
            try {
                state = (int) UPDATE_DIRECT.invokeExact(state, address, 0, length);
            } catch (Throwable t) {
                throw new IllegalStateException("CRC32C intrinsic failed", t);
            }
        } else {
            fallback.update(MemorySegment.ofAddress(address).reinterpret(length).asByteBuffer());
        }
    }

    /** The CRC32C of every byte added since {@link #reset()}, as {@link CRC32C#getValue()} gives it (low 32 bits). */
    int value() {
        return fallback != null ? (int) fallback.getValue() : ~state;
    }

    private static MethodHandle updateDirectHandle() {
        try {
            Method m = CRC32C.class.getDeclaredMethod("updateDirectByteBuffer", int.class, long.class, int.class, int.class);
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
