package dev.baton.kvtransfer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Optional;

/**
 * Memory one process shares read-only with the other processes of its host, for same-host KV
 * transfers in one copy: an anonymous memory file ({@code memfd_create}) of this process, mapped
 * here read-write; a receiver maps it read-only through {@code /proc/<pid>/fd/<fd>} and copies blocks
 * out of it (see {@link dev.baton.kvtransfer.aeron} and the schema's {@code BlockRef}).
 *
 * <p>The memory has no name in any file system: it is freed when this process closes the region or
 * dies and the last receiver unmaps it, so a killed node leaves nothing behind in {@code /dev/shm}.
 * A header page holds a magic number, a random token, the size and the owner's pid, which a receiver
 * checks before it reads a byte (a descriptor number means nothing on another host or after a restart).
 *
 * <p>Linux only: {@link #create} throws {@link KvTransferException} elsewhere, or where memfds or
 * {@code /proc} are not available; callers then send bytes instead.
 */
public final class SharedRegion implements AutoCloseable {

    /** Bytes before the data: the header, one page so the data stays page-aligned. */
    public static final int HEADER_BYTES = 4096;
    private static final long MAGIC = 0x3156_4B4E_4F54_4142L; // "BATONKV1", little-endian
    private static final int MFD_CLOEXEC = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(StructLayout.PathElement.groupElement("errno"));
    private static final MethodHandle MEMFD_CREATE = downcall("memfd_create",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle FTRUNCATE = downcall("ftruncate",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle CLOSE = downcall("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private final Arena arena;
    private final MemorySegment mapped;
    private final MemorySegment data;
    private final long pid;
    private final int fd;
    private final long token;
    private boolean closed;

    private SharedRegion(Arena arena, MemorySegment mapped, long pid, int fd, long token) {
        this.arena = arena;
        this.mapped = mapped;
        this.data = mapped.asSlice(HEADER_BYTES);
        this.pid = pid;
        this.fd = fd;
        this.token = token;
    }

    /** Whether this platform can create regions (Linux with {@code memfd_create}). */
    public static boolean isSupported() {
        return MEMFD_CREATE != null && FTRUNCATE != null && CLOSE != null;
    }

    /**
     * A new region of {@code bytes} data bytes, zeroed, named {@code name} in {@code /proc/<pid>/fd}
     * listings (for people looking at the process).
     *
     * @throws KvTransferException if the platform has no memfds or the memory cannot be had
     */
    public static SharedRegion create(String name, long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("a shared region needs at least 1 byte, not " + bytes);
        }
        if (!isSupported()) {
            throw new KvTransferException("shared KV regions need Linux memfd_create, which this platform lacks");
        }
        int fd;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            fd = (int) MEMFD_CREATE.invokeExact(state, call.allocateFrom(name), MFD_CLOEXEC);
            if (fd < 0) {
                throw new KvTransferException("memfd_create(" + name + ") failed: errno " + errno(state));
            }
            int r = (int) FTRUNCATE.invokeExact(state, fd, HEADER_BYTES + bytes);
            if (r != 0) {
                int err = errno(state);
                closeFd(fd);
                throw new KvTransferException("cannot size the shared region " + name + " to " + (HEADER_BYTES + bytes)
                        + " bytes: errno " + err);
            }
        } catch (KvTransferException e) {
            throw e;
        } catch (Throwable t) {
            throw new KvTransferException("memfd_create(" + name + ") failed: " + t, t);
        }
        long pid = ProcessHandle.current().pid();
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_BYTES + bytes, arena);
            // Touch every page now, as an off-heap allocation does when it zeroes its memory: a page
            // faulted in on first use would otherwise cost the owner's hot path (the KV writes of a
            // prefill) a page fault per 4 KiB.
            mapped.fill((byte) 0);
            long token = new SecureRandom().nextLong() | 1L;
            mapped.set(ValueLayout.JAVA_LONG, 8, token);
            mapped.set(ValueLayout.JAVA_LONG, 16, bytes);
            mapped.set(ValueLayout.JAVA_LONG, 24, pid);
            mapped.set(ValueLayout.JAVA_LONG, 0, MAGIC);
            return new SharedRegion(arena, mapped, pid, fd, token);
        } catch (IOException | RuntimeException e) {
            arena.close();
            closeFd(fd);
            throw new KvTransferException("cannot map the shared region " + name + " (" + (HEADER_BYTES + bytes)
                    + " bytes): " + e.getMessage(), e);
        }
    }

    /** The data bytes: read-write here, read-only to receivers. */
    public MemorySegment segment() {
        return data;
    }

    /** Bytes of {@link #segment()}. */
    public long byteSize() {
        return data.byteSize();
    }

    /** The owner's pid, as a receiver opens it. */
    public long pid() {
        return pid;
    }

    /** The memfd's descriptor number in the owner. */
    public int fd() {
        return fd;
    }

    /** The random id in the header. */
    public long token() {
        return token;
    }

    /** Where {@code length} bytes at native {@code address} start in {@link #segment()}, or -1 if they are not all in it. */
    public long offsetOf(long address, long length) {
        long offset = address - data.address();
        return offset >= 0 && length >= 0 && offset <= data.byteSize() - length ? offset : -1;
    }

    /** Unmaps the region here and closes its descriptor; the memory goes when receivers unmap it too. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close();
        closeFd(fd);
    }

    /**
     * Maps another process's region read-only, after checking its header against what the owner
     * announced. Close the returned mapping to unmap it.
     *
     * @throws KvTransferException naming the path and what did not match
     */
    public static Mapping open(long pid, int fd, long token, long bytes) {
        Path path = Path.of("/proc/" + pid + "/fd/" + fd);
        Optional<Instant> started = ProcessHandle.of(pid).flatMap(h -> h.info().startInstant());
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size != HEADER_BYTES + bytes) {
                throw new KvTransferException(path + " has " + size + " bytes, not the " + (HEADER_BYTES + bytes)
                        + " announced: not the sender's region (another host, or a reused descriptor)");
            }
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (mapped.get(ValueLayout.JAVA_LONG, 0) != MAGIC || mapped.get(ValueLayout.JAVA_LONG, 8) != token
                    || mapped.get(ValueLayout.JAVA_LONG, 16) != bytes || mapped.get(ValueLayout.JAVA_LONG, 24) != pid) {
                throw new KvTransferException(path + " does not hold the sender's region (token " + Long.toHexString(token)
                        + "): another host, or a reused descriptor");
            }
            return new Mapping(arena, mapped.asSlice(HEADER_BYTES), pid, token, started.orElse(null));
        } catch (KvTransferException e) {
            arena.close();
            throw e;
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw new KvTransferException("cannot map the sender's region " + path + ": " + e, e);
        }
    }

    /** Another process's region, mapped read-only here. Thread-confined to its receiver. */
    public static final class Mapping implements AutoCloseable {
        private final Arena arena;
        private final MemorySegment data;
        private final long pid;
        private final long token;
        private final Instant ownerStarted;
        private boolean closed;

        private Mapping(Arena arena, MemorySegment data, long pid, long token, Instant ownerStarted) {
            this.arena = arena;
            this.data = data;
            this.pid = pid;
            this.token = token;
            this.ownerStarted = ownerStarted;
        }

        /** The region's data bytes (read-only). */
        public MemorySegment segment() {
            return data;
        }

        public long token() {
            return token;
        }

        /** Whether the process that made the region still runs (the same process, not a reuse of its pid). */
        public boolean ownerAlive() {
            Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (h.isEmpty() || !h.get().isAlive()) {
                return false;
            }
            return ownerStarted == null || h.get().info().startInstant().map(ownerStarted::equals).orElse(true);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                arena.close();
            }
        }
    }

    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        try {
            return LINKER.defaultLookup().find(name)
                    .map(f -> LINKER.downcallHandle(f, fd, Linker.Option.captureCallState("errno")))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static void closeFd(int fd) {
        try (Arena call = Arena.ofConfined()) {
            int ignored = (int) CLOSE.invokeExact(call.allocate(CALL_STATE), fd);
        } catch (Throwable ignored) {
            // nothing more to do: the descriptor goes with the process
        }
    }
}
