package dev.baton.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {

    @TempDir
    Path dir;

    @Test
    void shouldRoundTripEveryScalarMetadataType() throws IOException {
        GgufWriter w = new GgufWriter()
                .put("u8", GgufValueType.UINT8, 255L)
                .put("i8", GgufValueType.INT8, -128L)
                .put("u16", GgufValueType.UINT16, 65535L)
                .put("i16", GgufValueType.INT16, -32768L)
                .put("u32", GgufValueType.UINT32, 4_294_967_295L)
                .put("i32", GgufValueType.INT32, (long) Integer.MIN_VALUE)
                .put("u64", GgufValueType.UINT64, -1L)
                .put("i64", GgufValueType.INT64, Long.MIN_VALUE)
                .putFloat32("f32", 1e-5f)
                .put("f64", GgufValueType.FLOAT64, Math.PI)
                .putBool("bool", true)
                .putString("str", "héllo ✓ \u0000 end");
        try (GgufFile f = writeAndOpen(w)) {
            GgufMetadata m = f.metadata();
            assertEquals(3, f.version());
            assertEquals(255L, m.getLong("u8"));
            assertEquals(-128L, m.getLong("i8"));
            assertEquals(65535L, m.getLong("u16"));
            assertEquals(-32768L, m.getLong("i16"));
            assertEquals(4_294_967_295L, m.getLong("u32"));
            assertEquals(Integer.MIN_VALUE, m.getInt("i32"));
            assertEquals(-1L, m.getLong("u64"));
            assertEquals(Long.MIN_VALUE, m.getLong("i64"));
            assertEquals(1e-5f, m.getFloat("f32"));
            assertEquals(Math.PI, (Double) m.get("f64"));
            assertTrue(m.getBoolean("bool", false));
            assertEquals("héllo ✓ \u0000 end", m.getString("str"));
            assertEquals(List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "bool", "str"),
                    List.copyOf(m.entries().keySet()));
            for (GgufMetadata.Entry e : m.entries().values()) {
                assertEquals(w.metadata().get(e.key()).type(), e.type(), e.key());
            }
        }
    }

    @Test
    void shouldRoundTripArraysOfEveryElementType() throws IOException {
        GgufWriter w = new GgufWriter()
                .putStringArray("strings", "a", "", "Ġthe", "<|im_end|>")
                .putInt32Array("ints", 1, -2, Integer.MAX_VALUE)
                .putFloat32Array("floats", 0.5f, -1e30f, Float.MIN_VALUE)
                .putArray("u8s", GgufValueType.UINT8, new long[] {0, 255})
                .putArray("i16s", GgufValueType.INT16, new int[] {-3, 3})
                .putArray("u64s", GgufValueType.UINT64, new long[] {-1L})
                .putArray("doubles", GgufValueType.FLOAT64, new double[] {1.0 / 3})
                .putArray("bools", GgufValueType.BOOL, new boolean[] {true, false, true})
                .putArray("empty", GgufValueType.INT32, new int[0]);
        try (GgufFile f = writeAndOpen(w)) {
            GgufMetadata m = f.metadata();
            assertArrayEquals(new String[] {"a", "", "Ġthe", "<|im_end|>"}, m.getStringArray("strings"));
            assertArrayEquals(new int[] {1, -2, Integer.MAX_VALUE}, m.getIntArray("ints"));
            assertEquals(GgufValueType.INT32, m.entries().get("ints").elementType());
            assertArrayEquals(new float[] {0.5f, -1e30f, Float.MIN_VALUE}, m.getFloatArray("floats"));
            assertArrayEquals(new long[] {0, 255}, (long[]) m.get("u8s"));
            assertEquals(GgufValueType.UINT8, m.entries().get("u8s").elementType());
            assertArrayEquals(new long[] {-3, 3}, (long[]) m.get("i16s"));
            assertArrayEquals(new long[] {-1L}, (long[]) m.get("u64s"));
            assertArrayEquals(new double[] {1.0 / 3}, (double[]) m.get("doubles"));
            assertArrayEquals(new boolean[] {true, false, true}, (boolean[]) m.get("bools"));
            assertArrayEquals(new int[0], m.getIntArray("empty"));
        }
    }

    @Test
    void shouldWriteTensorsOfEveryEncodableTypeAtAlignedOffsets() throws IOException {
        float[] a = random(32 * 3, 1);
        float[] b = random(64 * 2, 2);
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .addTensor("f32", GgmlType.F32, new float[] {1, 2, 3}, 3)
                .addTensor("f16", GgmlType.F16, a, 32, 3)
                .addTensor("bf16", GgmlType.BF16, a, 32, 3)
                .addTensor("q8_0", GgmlType.Q8_0, b, 64, 2)
                .addTensor("q4_0", GgmlType.Q4_0, () -> b, 64, 2);
        try (GgufFile f = writeAndOpen(w)) {
            assertEquals(List.of("f32", "f16", "bf16", "q8_0", "q4_0"), List.copyOf(f.tensors().keySet()));
            assertArrayEquals(new float[] {1, 2, 3}, GgufQuantizer.dequantize(f.tensor("f32")));
            assertArrayEquals(new long[] {32, 3}, f.tensor("f16").dims());
            for (String name : List.of("f16", "bf16", "q8_0", "q4_0")) {
                GgufTensorInfo t = f.tensor(name);
                assertEquals(0, t.offsetBytes() % 32, name);
                float[] want = name.startsWith("q") ? b : a;
                assertArrayEquals(GgufQuantizer.dequantize(t.type(),
                        MemorySegment.ofArray(GgufQuantizer.quantize(t.type(), want)), want.length), GgufQuantizer.dequantize(t), name);
            }
            assertEquals(GgmlType.Q4_0, f.tensor("q4_0").type());
            assertEquals(2 * 18 * 2, f.tensor("q4_0").byteSize());
        }
    }

    @Test
    void shouldHonourGeneralAlignment() throws IOException {
        GgufWriter w = new GgufWriter().alignment(256)
                .addTensor("x", GgmlType.F32, new float[] {1}, 1)
                .addTensor("y", GgmlType.F32, new float[] {2, 3}, 2);
        try (GgufFile f = writeAndOpen(w)) {
            assertEquals(256, f.alignment());
            assertEquals(0, f.dataStart() % 256);
            assertEquals(256, f.tensor("y").offsetBytes());
            assertArrayEquals(new float[] {2, 3}, GgufQuantizer.dequantize(f.tensor("y")));
        }
    }

    @Test
    void shouldCopyRawTensorBytesAndMetadataEntriesFromAnotherFile() throws IOException {
        Path first = dir.resolve("first.gguf");
        new GgufWriter().putString("general.name", "first").putArray("ids", GgufValueType.UINT16, new long[] {7})
                .addTensor("w", GgmlType.Q8_0, random(64, 3), 32, 2).write(first);
        try (GgufFile src = GgufFile.open(first)) {
            GgufWriter copy = new GgufWriter();
            src.metadata().entries().values().forEach(copy::put);
            GgufTensorInfo t = src.tensor("w");
            copy.addRawTensor("w", t.type(), t.data(), t.dims());
            try (GgufFile f = writeAndOpen(copy)) {
                assertEquals(src.metadata().entries().keySet(), f.metadata().entries().keySet());
                assertEquals(GgufValueType.UINT16, f.metadata().entries().get("ids").elementType());
                assertEquals(-1L, f.tensor("w").data().mismatch(t.data()));
            }
        }
        assertEquals(Files.size(first), Files.size(dir.resolve("out.gguf")));
    }

    @Test
    void shouldReplaceTheDestinationAndLeaveNoTemporaryFile() throws IOException {
        Path dest = dir.resolve("model.gguf");
        Files.writeString(dest, "old");
        new GgufWriter().putString("general.name", "new").write(dest);
        try (GgufFile f = GgufFile.open(dest)) {
            assertEquals("new", f.metadata().getString("general.name"));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(dest), files.toList());
        }
    }

    @Test
    void shouldLeaveNothingBehindWhenWritingFails() throws IOException {
        Path dest = dir.resolve("model.gguf");
        GgufWriter w = new GgufWriter().addTensor("bad", GgmlType.F32, () -> new float[1], 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.write(dest));
        assertEquals("tensor 'bad': the value supplier gave 1 values, dims [2] need 2", e.getMessage());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.toList());
        }
        assertFalse(Files.exists(dest));
    }

    @Test
    void shouldRejectValuesThatDoNotFitTheirTypeNamingTheKey() {
        GgufWriter w = new GgufWriter();
        assertEquals("metadata 'k' = 256 is out of range for UINT8 (0..255)",
                assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValueType.UINT8, 256L)).getMessage());
        assertEquals("metadata 'k' of type STRING needs a String, got Long",
                assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValueType.STRING, 1L)).getMessage());
        assertEquals("general.alignment must be a power of two from 1 to 2^30, got 48",
                assertThrows(IllegalArgumentException.class, () -> w.alignment(48)).getMessage());
        assertEquals("metadata 'k': arrays of arrays are not supported",
                assertThrows(IllegalArgumentException.class, () -> w.putArray("k", GgufValueType.ARRAY, new Object[0])).getMessage());
    }

    @Test
    void shouldRejectBadTensorsNamingThem() {
        GgufWriter w = new GgufWriter().addTensor("t", GgmlType.F32, new float[2], 2);
        assertEquals("tensor 't' was already added",
                assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new float[2], 2)).getMessage());
        assertEquals("tensor 'q' of type Q8_0 has rows of 16 elements, not a multiple of the block size 32",
                assertThrows(IllegalArgumentException.class, () -> w.addTensor("q", GgmlType.Q8_0, new float[32], 16, 2)).getMessage());
        assertEquals("tensor 'n' has 3 values but dims [2, 2] need 4",
                assertThrows(IllegalArgumentException.class, () -> w.addTensor("n", GgmlType.F32, new float[3], 2, 2)).getMessage());
        assertEquals("tensor 'k': cannot encode type Q4_K (supported: F32, F16, BF16, Q8_0, Q4_0)",
                assertThrows(IllegalArgumentException.class, () -> w.addTensor("k", GgmlType.Q4_K, new float[256], 256)).getMessage());
    }

    private GgufFile writeAndOpen(GgufWriter w) throws IOException {
        Path p = dir.resolve("out.gguf");
        w.write(p);
        return GgufFile.open(p);
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() * 4 - 2);
        }
        return x;
    }
}
