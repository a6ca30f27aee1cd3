package dev.baton.engine.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Builds a GGUF v3 file: metadata entries and tensors are collected in order, then {@link #write}
 * lays them out as {@link GgufFile} documents and llama.cpp reads them.
 *
 * <pre>
 *   u32 "GGUF" | u32 3 | u64 tensor count | u64 kv count
 *   kv*      in insertion order
 *   tensor*  infos in insertion order, offsets relative to the data section, each aligned
 *   zero padding to general.alignment (default 32)
 *   tensor data, each tensor followed by zero padding to the alignment
 * </pre>
 *
 * <p>Tensors given as {@code float[]} are encoded at write time with {@link GgufQuantizer} (F32, F16,
 * BF16, Q8_0, Q4_0); already-encoded bytes of any type can be added as they are. The file is written
 * to a temporary file beside the destination, forced to disk and renamed over the destination in one
 * atomic step, so readers see either no file or the whole file, never a half-written one.
 *
 * <p>Not thread-safe: one thread builds and writes. The writer keeps references to the arrays and
 * segments it is given (no copies) until {@link #write} returns; callers must not change them before.
 */
public final class GgufWriter {

    /** The GGUF version this writer produces. */
    public static final int VERSION = 3;
    private static final String ALIGNMENT_KEY = "general.alignment";
    private static final int CHUNK_ELEMENTS = 1 << 20;

    private final Map<String, GgufMetadata.Entry> metadata = new LinkedHashMap<>();
    private final Map<String, PendingTensor> tensors = new LinkedHashMap<>();

    private record PendingTensor(String name, long[] dims, GgmlType type, Supplier<float[]> values, MemorySegment raw) {
        long elements() {
            long n = 1;
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        long byteSize() {
            return type.byteSize(elements());
        }
    }

    // ---------------------------------------------------------------- metadata

    /**
     * Adds or replaces (keeping its position) one entry. Values use {@link GgufMetadata}'s
     * representation: integers as {@code Long} (also {@code Integer}), floats as {@code Double}
     * (also {@code Float}), {@code Boolean}, {@code String}; arrays as {@code long[]} (also
     * {@code int[]}), {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}, with
     * {@code elementType} giving the element type. Entries read from a {@link GgufFile} can be
     * passed as they are. Arrays of arrays are not supported.
     *
     * @throws IllegalArgumentException naming the key if the value does not fit the type
     */
    public GgufWriter put(GgufMetadata.Entry entry) {
        Objects.requireNonNull(entry, "entry");
        String key = Objects.requireNonNull(entry.key(), "key");
        GgufValueType type = Objects.requireNonNull(entry.type(), "type");
        Object value = Objects.requireNonNull(entry.value(), () -> "value of '" + key + "'");
        GgufMetadata.Entry normalized;
        if (type == GgufValueType.ARRAY) {
            GgufValueType et = Objects.requireNonNull(entry.elementType(), () -> "element type of array '" + key + "'");
            normalized = new GgufMetadata.Entry(key, type, et, normalizeArray(key, et, value));
        } else {
            normalized = new GgufMetadata.Entry(key, type, null, normalizeScalar(key, type, value));
        }
        if (key.equals(ALIGNMENT_KEY)) {
            checkAlignment(normalized);
        }
        metadata.put(key, normalized);
        return this;
    }

    public GgufWriter put(String key, GgufValueType type, Object value) {
        return put(new GgufMetadata.Entry(key, type, null, value));
    }

    public GgufWriter putArray(String key, GgufValueType elementType, Object values) {
        return put(new GgufMetadata.Entry(key, GgufValueType.ARRAY, elementType, values));
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value);
    }

    public GgufWriter putUint32(String key, long value) {
        return put(key, GgufValueType.UINT32, value);
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValueType.INT32, (long) value);
    }

    public GgufWriter putUint64(String key, long value) {
        return put(key, GgufValueType.UINT64, value);
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, (double) value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    public GgufWriter putStringArray(String key, String... values) {
        return putArray(key, GgufValueType.STRING, values);
    }

    public GgufWriter putInt32Array(String key, int... values) {
        return putArray(key, GgufValueType.INT32, values);
    }

    public GgufWriter putFloat32Array(String key, float... values) {
        return putArray(key, GgufValueType.FLOAT32, values);
    }

    /** Sets {@code general.alignment} (a power of two); without it the data is aligned to 32 bytes. */
    public GgufWriter alignment(int bytes) {
        return putUint32(ALIGNMENT_KEY, bytes);
    }

    /** The entries added so far, in order (read-only view). */
    public Map<String, GgufMetadata.Entry> metadata() {
        return java.util.Collections.unmodifiableMap(metadata);
    }

    // ---------------------------------------------------------------- tensors

    /**
     * Adds a tensor whose values are encoded as {@code type} when the file is written.
     *
     * @param dims GGML order: {@code dims[0]} is the contiguous (column) count, a multiple of the
     *             type's block size; 1 to 4 dimensions
     * @throws IllegalArgumentException naming the tensor if the name is taken, the type cannot be
     *                                  encoded, or {@code values.length} is not the product of {@code dims}
     */
    public GgufWriter addTensor(String name, GgmlType type, float[] values, long... dims) {
        Objects.requireNonNull(values, "values");
        PendingTensor t = check(new PendingTensor(name, dims.clone(), type, () -> values, null));
        if (values.length != t.elements()) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + values.length + " values but dims "
                    + Arrays.toString(dims) + " need " + t.elements());
        }
        tensors.put(name, t);
        return this;
    }

    /**
     * Like {@link #addTensor(String, GgmlType, float[], long...)}, with the values produced only when
     * the file is written (once, then dropped), so large models need not sit in the heap at once.
     */
    public GgufWriter addTensor(String name, GgmlType type, Supplier<float[]> values, long... dims) {
        Objects.requireNonNull(values, "values");
        tensors.put(name, check(new PendingTensor(name, dims.clone(), type, values, null)));
        return this;
    }

    /**
     * Adds a tensor from bytes already in {@code type}'s encoding (any type, known to the reader or
     * not), copied into the file as they are.
     */
    public GgufWriter addRawTensor(String name, GgmlType type, MemorySegment bytes, long... dims) {
        Objects.requireNonNull(bytes, "bytes");
        PendingTensor t = new PendingTensor(name, dims.clone(), type, null, bytes);
        checkShape(t);
        if (bytes.byteSize() != t.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " and dims "
                    + Arrays.toString(dims) + " needs " + t.byteSize() + " bytes, got " + bytes.byteSize());
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' was already added");
        }
        tensors.put(name, t);
        return this;
    }

    private PendingTensor check(PendingTensor t) {
        checkShape(t);
        if (!GgufQuantizer.canEncode(t.type)) {
            throw new IllegalArgumentException("tensor '" + t.name + "': cannot encode type " + t.type
                    + " (supported: F32, F16, BF16, Q8_0, Q4_0)");
        }
        if (tensors.containsKey(t.name)) {
            throw new IllegalArgumentException("tensor '" + t.name + "' was already added");
        }
        return t;
    }

    private static void checkShape(PendingTensor t) {
        Objects.requireNonNull(t.name, "name");
        Objects.requireNonNull(t.type, "type");
        if (t.dims.length < 1 || t.dims.length > 4) {
            throw new IllegalArgumentException("tensor '" + t.name + "' has " + t.dims.length + " dimensions (1 to 4 allowed)");
        }
        for (long d : t.dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + t.name + "' has a dimension of " + d + " in "
                        + Arrays.toString(t.dims));
            }
        }
        if (t.dims[0] % t.type.blockSize != 0) {
            throw new IllegalArgumentException("tensor '" + t.name + "' of type " + t.type + " has rows of " + t.dims[0]
                    + " elements, not a multiple of the block size " + t.type.blockSize);
        }
        t.elements(); // overflow check
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes the file to {@code dest} atomically (temporary file in the same directory, then rename),
     * replacing any file there. On failure the temporary file is deleted and {@code dest} is untouched.
     */
    public void write(Path dest) throws IOException {
        Path abs = dest.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        // Not Files.createTempFile: its 0600 mode would stick to the model file; this one gets the umask's.
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                writeTo(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename " + tmp + " to " + abs + " atomically", e);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void writeTo(FileChannel ch) throws IOException {
        int alignment = metadata.containsKey(ALIGNMENT_KEY)
                ? (int) (long) (Long) metadata.get(ALIGNMENT_KEY).value() : GgufFile.DEFAULT_ALIGNMENT;
        Header h = new Header();
        h.u32(GgufFile.MAGIC);
        h.u32(VERSION);
        h.u64(tensors.size());
        h.u64(metadata.size());
        for (GgufMetadata.Entry e : metadata.values()) {
            h.string(e.key());
            h.u32(e.type().id);
            if (e.type() == GgufValueType.ARRAY) {
                h.u32(e.elementType().id);
                h.array(e.elementType(), e.value());
            } else {
                h.scalar(e.type(), e.value());
            }
        }
        long offset = 0;
        List<Long> sizes = new ArrayList<>();
        for (PendingTensor t : tensors.values()) {
            h.string(t.name);
            h.u32(t.dims.length);
            for (long d : t.dims) {
                h.u64(d);
            }
            h.u32(t.type.id);
            h.u64(offset);
            long size = t.byteSize();
            sizes.add(size);
            offset = GgufFile.align(offset + size, alignment);
        }
        int headerBytes = h.size();
        h.pad(GgufFile.align(headerBytes, alignment) - headerBytes);
        writeFully(ch, h.buffer());

        int i = 0;
        for (PendingTensor t : tensors.values()) {
            long size = sizes.get(i++);
            if (t.raw != null) {
                for (long at = 0; at < size; at += 1 << 26) {
                    writeFully(ch, t.raw.asSlice(at, Math.min(1L << 26, size - at)).asByteBuffer());
                }
            } else {
                writeEncoded(ch, t);
            }
            long pad = GgufFile.align(size, alignment) - size;
            if (pad > 0) {
                writeFully(ch, ByteBuffer.allocate((int) pad));
            }
        }
    }

    private static void writeEncoded(FileChannel ch, PendingTensor t) throws IOException {
        float[] values = t.values.get();
        if (values == null || values.length != t.elements()) {
            throw new IllegalArgumentException("tensor '" + t.name + "': the value supplier gave "
                    + (values == null ? "null" : values.length + " values") + ", dims " + Arrays.toString(t.dims)
                    + " need " + t.elements());
        }
        int chunk = Math.min(values.length, CHUNK_ELEMENTS); // a multiple of every block size when smaller than the tensor
        byte[] buf = new byte[(int) t.type.byteSize(chunk)];
        MemorySegment seg = MemorySegment.ofArray(buf);
        for (int at = 0; at < values.length; at += chunk) {
            int n = Math.min(chunk, values.length - at);
            GgufQuantizer.quantize(t.type, values, at, n, seg, 0);
            writeFully(ch, ByteBuffer.wrap(buf, 0, (int) t.type.byteSize(n)));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    // ---------------------------------------------------------------- value checks

    private static Object normalizeScalar(String key, GgufValueType type, Object v) {
        return switch (type) {
            case UINT8 -> integer(key, type, v, 0, 0xff);
            case INT8 -> integer(key, type, v, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case UINT16 -> integer(key, type, v, 0, 0xffff);
            case INT16 -> integer(key, type, v, Short.MIN_VALUE, Short.MAX_VALUE);
            case UINT32 -> integer(key, type, v, 0, 0xffff_ffffL);
            case INT32 -> integer(key, type, v, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case UINT64, INT64 -> integer(key, type, v, Long.MIN_VALUE, Long.MAX_VALUE);
            case FLOAT32, FLOAT64 -> {
                if (v instanceof Double || v instanceof Float) {
                    yield ((Number) v).doubleValue();
                }
                throw wrongValue(key, type, v, "a Double or Float");
            }
            case BOOL -> {
                if (v instanceof Boolean) {
                    yield v;
                }
                throw wrongValue(key, type, v, "a Boolean");
            }
            case STRING -> {
                if (v instanceof String) {
                    yield v;
                }
                throw wrongValue(key, type, v, "a String");
            }
            case ARRAY -> throw new IllegalArgumentException("metadata '" + key + "': use an element type for arrays");
        };
    }

    private static long integer(String key, GgufValueType type, Object v, long min, long max) {
        if (!(v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte)) {
            throw wrongValue(key, type, v, "an integer");
        }
        long x = ((Number) v).longValue();
        if (x < min || x > max) {
            throw new IllegalArgumentException("metadata '" + key + "' = " + x + " is out of range for " + type
                    + " (" + min + ".." + max + ")");
        }
        return x;
    }

    private static Object normalizeArray(String key, GgufValueType et, Object v) {
        switch (et) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                long[] a;
                if (v instanceof long[] l) {
                    a = l;
                } else if (v instanceof int[] ints) {
                    a = Arrays.stream(ints).asLongStream().toArray();
                } else {
                    throw wrongValue(key, et, v, "a long[] or int[]");
                }
                for (long x : a) {
                    normalizeScalar(key, et, x);
                }
                return a;
            }
            case FLOAT32 -> {
                if (v instanceof float[]) {
                    return v;
                }
                throw wrongValue(key, et, v, "a float[]");
            }
            case FLOAT64 -> {
                if (v instanceof double[]) {
                    return v;
                }
                throw wrongValue(key, et, v, "a double[]");
            }
            case BOOL -> {
                if (v instanceof boolean[]) {
                    return v;
                }
                throw wrongValue(key, et, v, "a boolean[]");
            }
            case STRING -> {
                if (v instanceof String[] s) {
                    for (int i = 0; i < s.length; i++) {
                        if (s[i] == null) {
                            throw new IllegalArgumentException("metadata '" + key + "': element " + i + " is null");
                        }
                    }
                    return v;
                }
                throw wrongValue(key, et, v, "a String[]");
            }
            case ARRAY -> throw new IllegalArgumentException("metadata '" + key + "': arrays of arrays are not supported");
        }
        throw new AssertionError(et);
    }

    private static void checkAlignment(GgufMetadata.Entry e) {
        if (e.type() != GgufValueType.UINT32) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " must be a UINT32, got " + e.type());
        }
        long a = (Long) e.value();
        if (a <= 0 || a > 1 << 30 || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " must be a power of two from 1 to 2^30, got " + a);
        }
    }

    private static IllegalArgumentException wrongValue(String key, GgufValueType type, Object v, String expected) {
        return new IllegalArgumentException("metadata '" + key + "' of type " + type + " needs " + expected + ", got "
                + (v == null ? "null" : v.getClass().getSimpleName()));
    }

    /** Little-endian growable header buffer. */
    private static final class Header {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(long n) {
            if (buf.remaining() < n) {
                long want = Math.max((long) buf.capacity() * 2, buf.position() + n);
                if (want > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("GGUF header larger than 2 GiB");
                }
                ByteBuffer bigger = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        int size() {
            return buf.position();
        }

        ByteBuffer buffer() {
            return buf.duplicate().flip();
        }

        void u8(int v) {
            ensure(1);
            buf.put((byte) v);
        }

        void u16(int v) {
            ensure(2);
            buf.putShort((short) v);
        }

        void u32(long v) {
            ensure(4);
            buf.putInt((int) v);
        }

        void u64(long v) {
            ensure(8);
            buf.putLong(v);
        }

        void pad(long n) {
            ensure(n);
            buf.position(buf.position() + (int) n);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            ensure(b.length);
            buf.put(b);
        }

        void scalar(GgufValueType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> u8((int) (long) (Long) v);
                case UINT16, INT16 -> u16((int) (long) (Long) v);
                case UINT32, INT32 -> u32((Long) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> {
                    ensure(4);
                    buf.putFloat((float) (double) (Double) v);
                }
                case FLOAT64 -> {
                    ensure(8);
                    buf.putDouble((Double) v);
                }
                case BOOL -> u8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> throw new AssertionError("nested array");
            }
        }

        void array(GgufValueType et, Object v) {
            switch (v) {
                case long[] a -> {
                    u64(a.length);
                    for (long x : a) {
                        scalar(et, x);
                    }
                }
                case float[] a -> {
                    u64(a.length);
                    ensure(4L * a.length);
                    for (float x : a) {
                        buf.putFloat(x);
                    }
                }
                case double[] a -> {
                    u64(a.length);
                    ensure(8L * a.length);
                    for (double x : a) {
                        buf.putDouble(x);
                    }
                }
                case boolean[] a -> {
                    u64(a.length);
                    for (boolean x : a) {
                        u8(x ? 1 : 0);
                    }
                }
                case String[] a -> {
                    u64(a.length);
                    for (String x : a) {
                        string(x);
                    }
                }
                default -> throw new AssertionError(v.getClass());
            }
        }
    }
}
