package dev.baton.engine.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A memory-mapped GGUF file (versions 1 to 3): its metadata and tensor infos, with the tensor data
 * left in the mapping (never copied to the heap).
 *
 * <pre>
 *   u32 magic "GGUF" | u32 version | count tensors | count kvs          (count: u32 in v1, u64 after)
 *   kv*:     string key | u32 value type | value
 *   tensor*: string name | u32 n_dims | count dims[n_dims] | u32 ggml type | u64 offset
 *   padding to general.alignment (default 32)
 *   tensor data (each tensor at data start + offset)
 *   string:  count length | UTF-8 bytes
 * </pre>
 *
 * <p>Every read is bounds-checked: a truncated or corrupt file gives a {@link GgufFormatException}
 * naming the offset and the key or tensor being read. Thread-safe once opened; {@link #close()}
 * unmaps the file, after which tensor data must not be touched.
 */
public final class GgufFile implements AutoCloseable {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Deepest nesting of arrays in arrays read (no model uses more than 2; each level is a stack frame). */
    static final int MAX_ARRAY_DEPTH = 16;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final int version;
    private final GgufMetadata metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataStart;
    private final int alignment;

    private GgufFile(Path path, Arena arena, MemorySegment mapping) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        if (mapping.byteSize() < 24) {
            throw new GgufFormatException(path + ": file is truncated: " + mapping.byteSize()
                    + " bytes is less than a GGUF header");
        }
        Reader r = new Reader(mapping, path);
        int magic = r.u32("magic");
        if (magic != MAGIC) {
            throw new GgufFormatException(String.format("%s: not a GGUF file (magic 0x%08x, expected 0x%08x \"GGUF\")",
                    path, magic, MAGIC));
        }
        version = r.u32("version");
        if (version < 1 || version > 3) {
            throw new GgufFormatException(path + ": unsupported GGUF version " + version + " (supported: 1 to 3)");
        }
        long tensorCount = r.count(version, "tensor count");
        long kvCount = r.count(version, "metadata count");
        Map<String, GgufMetadata.Entry> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = r.pos;
            String key = r.string(version, "metadata key #" + i);
            int typeId = r.u32("type of metadata '" + key + "'");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw new GgufFormatException(path + ": metadata '" + key + "' at offset " + at
                        + " has unknown value type " + typeId);
            }
            Object value = r.value(version, type, key);
            GgufValueType elementType = type == GgufValueType.ARRAY ? r.lastArrayType : null;
            if (kv.put(key, new GgufMetadata.Entry(key, type, elementType, value)) != null) {
                throw new GgufFormatException(path + ": metadata key '" + key + "' appears twice");
            }
        }
        metadata = new GgufMetadata(path.toString(), kv);
        alignment = metadata.has("general.alignment") ? metadata.getInt("general.alignment") : DEFAULT_ALIGNMENT;
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new GgufFormatException(path + ": general.alignment " + alignment + " is not a power of two");
        }
        record Raw(String name, long[] dims, GgmlType type, long offset) {}
        // Check before allocating the table: a corrupt count must not become an OutOfMemoryError.
        if (tensorCount > r.remaining()) {
            throw new GgufFormatException(path + ": tensor count " + tensorCount + " exceeds the file size");
        }
        Raw[] raws = new Raw[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            String name = r.string(version, "name of tensor #" + i);
            int nDims = r.u32("dimension count of tensor '" + name + "'");
            if (nDims < 1 || nDims > 4) {
                throw new GgufFormatException(path + ": tensor '" + name + "' has " + nDims + " dimensions (1 to 4 allowed)");
            }
            long[] dims = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                dims[d] = r.count(version, "dimension " + d + " of tensor '" + name + "'");
                if (dims[d] <= 0) {
                    throw new GgufFormatException(path + ": tensor '" + name + "' has dimension " + d + " = " + dims[d]);
                }
            }
            int typeId = r.u32("type of tensor '" + name + "'");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw new GgufFormatException(path + ": tensor '" + name + "' has unknown tensor type " + typeId);
            }
            long offset = r.u64("offset of tensor '" + name + "'");
            raws[i] = new Raw(name, dims, type, offset);
        }
        dataStart = align(r.pos, alignment);
        Map<String, GgufTensorInfo> t = new LinkedHashMap<>();
        for (Raw raw : raws) {
            if (raw.dims[0] % raw.type.blockSize != 0) {
                throw new GgufFormatException(path + ": tensor '" + raw.name + "' of type " + raw.type + " has rows of "
                        + raw.dims[0] + " elements, not a multiple of the block size " + raw.type.blockSize);
            }
            long bytes;
            try {
                long elements = 1;
                for (long d : raw.dims) {
                    elements = Math.multiplyExact(elements, d);
                }
                bytes = Math.multiplyExact(elements / raw.type.blockSize, raw.type.blockBytes);
            } catch (ArithmeticException e) {
                throw new GgufFormatException(path + ": tensor '" + raw.name + "' has dims " + java.util.Arrays.toString(raw.dims)
                        + ": more elements than a file can hold", e);
            }
            if (raw.offset % alignment != 0) {
                throw new GgufFormatException(path + ": tensor '" + raw.name + "' offset " + raw.offset
                        + " is not aligned to " + alignment);
            }
            long start = dataStart + raw.offset;
            if (raw.offset < 0 || start < 0 || start + bytes > mapping.byteSize() || start + bytes < start) {
                throw new GgufFormatException(path + ": file is truncated: tensor '" + raw.name + "' needs bytes "
                        + start + ".." + (start + bytes) + " but the file has " + mapping.byteSize());
            }
            if (t.put(raw.name, new GgufTensorInfo(raw.name, raw.dims, raw.type, raw.offset,
                    mapping.asSlice(start, bytes))) != null) {
                throw new GgufFormatException(path + ": tensor '" + raw.name + "' appears twice");
            }
        }
        tensors = Collections.unmodifiableMap(t);
    }

    /** Maps and parses {@code path}. */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new NoSuchFileException(path.toString(), null, "model file not found");
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses a GGUF image that is already in memory ({@code bytes} stays the caller's; tensor data are
     * slices of it); {@code path} only names it in messages. For tests and the fuzz harness.
     */
    static GgufFile parse(MemorySegment bytes, Path path) {
        return new GgufFile(path, null, bytes);
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensors in file order. */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}; a {@link GgufFormatException} naming it if absent. */
    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new GgufFormatException(path + ": missing tensor '" + name + "'");
        }
        return t;
    }

    public GgufTensorInfo tensorOrNull(String name) {
        return tensors.get(name);
    }

    /** The whole file mapping (read-only). */
    public MemorySegment mapping() {
        return mapping;
    }

    /** Offset of the tensor data section in the file. */
    public long dataStart() {
        return dataStart;
    }

    public int alignment() {
        return alignment;
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }

    static long align(long v, int a) {
        return (v + a - 1) & -(long) a;
    }

    /** Bounds-checked little-endian cursor over the header. */
    private static final class Reader {
        private final MemorySegment seg;
        private final Path path;
        long pos;
        GgufValueType lastArrayType;

        Reader(MemorySegment seg, Path path) {
            this.seg = seg;
            this.path = path;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        private void need(long n, String what) {
            if (n < 0 || n > remaining()) {
                throw new GgufFormatException(path + ": file is truncated at offset " + pos + " while reading " + what
                        + " (" + n + " bytes needed, " + remaining() + " left)");
            }
        }

        int u32(String what) {
            need(4, what);
            int v = seg.get(U32, pos);
            pos += 4;
            return v;
        }

        long u64(String what) {
            need(8, what);
            long v = seg.get(U64, pos);
            pos += 8;
            return v;
        }

        long count(int version, String what) {
            long v = version == 1 ? Integer.toUnsignedLong(u32(what)) : u64(what);
            if (v < 0) {
                throw new GgufFormatException(path + ": " + what + " at offset " + (pos - 8) + " is negative: " + v);
            }
            return v;
        }

        String string(int version, String what) {
            long len = count(version, "length of " + what);
            need(len, what);
            if (len > Integer.MAX_VALUE - 16) {
                throw new GgufFormatException(path + ": " + what + " is " + len + " bytes long");
            }
            byte[] b = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                // Vocabularies may hold partial UTF-8 sequences; keep them readable, byte for byte.
                return new String(b, StandardCharsets.ISO_8859_1);
            }
        }

        Object value(int version, GgufValueType type, String key) {
            String what = "value of '" + key + "'";
            return switch (type) {
                case UINT8 -> { need(1, what); yield (long) (seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xff); }
                case INT8 -> { need(1, what); yield (long) seg.get(ValueLayout.JAVA_BYTE, pos++); }
                case BOOL -> { need(1, what); yield seg.get(ValueLayout.JAVA_BYTE, pos++) != 0; }
                case UINT16 -> { need(2, what); long v = seg.get(U16, pos) & 0xffff; pos += 2; yield v; }
                case INT16 -> { need(2, what); long v = seg.get(U16, pos); pos += 2; yield v; }
                case UINT32 -> Integer.toUnsignedLong(u32(what));
                case INT32 -> (long) u32(what);
                case UINT64, INT64 -> u64(what);
                case FLOAT32 -> { need(4, what); double v = seg.get(F32, pos); pos += 4; yield v; }
                case FLOAT64 -> { need(8, what); double v = seg.get(F64, pos); pos += 8; yield v; }
                case STRING -> string(version, what);
                case ARRAY -> array(version, key);
            };
        }

        private Object array(int version, String key) {
            return array(version, key, 0);
        }

        private Object array(int version, String key, int depth) {
            if (depth > MAX_ARRAY_DEPTH) {
                throw new GgufFormatException(path + ": array '" + key + "' at offset " + pos + " is nested more than "
                        + MAX_ARRAY_DEPTH + " deep");
            }
            int typeId = u32("element type of array '" + key + "'");
            GgufValueType et = GgufValueType.byId(typeId);
            if (et == null) {
                throw new GgufFormatException(path + ": array '" + key + "' has unknown element type " + typeId);
            }
            long n = count(version, "length of array '" + key + "'");
            if (n > remaining() || n > Integer.MAX_VALUE - 16) {
                throw new GgufFormatException(path + ": file is truncated at offset " + pos + ": array '" + key
                        + "' claims " + n + " elements but only " + remaining() + " bytes are left");
            }
            int count = (int) n;
            Object out;
            if (et.isInteger()) {
                long[] a = new long[count];
                for (int i = 0; i < count; i++) {
                    a[i] = (Long) value(version, et, key);
                }
                out = a;
            } else if (et == GgufValueType.FLOAT32) {
                need((long) count * 4, "array '" + key + "'");
                float[] a = new float[count];
                MemorySegment.copy(seg, F32, pos, a, 0, count);
                pos += (long) count * 4;
                out = a;
            } else if (et == GgufValueType.FLOAT64) {
                need((long) count * 8, "array '" + key + "'");
                double[] a = new double[count];
                MemorySegment.copy(seg, F64, pos, a, 0, count);
                pos += (long) count * 8;
                out = a;
            } else if (et == GgufValueType.BOOL) {
                boolean[] a = new boolean[count];
                for (int i = 0; i < count; i++) {
                    a[i] = (Boolean) value(version, et, key);
                }
                out = a;
            } else if (et == GgufValueType.STRING) {
                String[] a = new String[count];
                for (int i = 0; i < count; i++) {
                    a[i] = string(version, "element " + i + " of array '" + key + "'");
                }
                out = a;
            } else {
                Object[] a = new Object[count];
                for (int i = 0; i < count; i++) {
                    a[i] = array(version, key + "[" + i + "]", depth + 1);
                }
                out = a;
            }
            lastArrayType = et;
            return out;
        }
    }
}
