package dev.baton.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader on damaged files: each test writes a valid file with {@link GgufWriter}, damages it, and
 * checks that opening it fails with a {@link GgufFormatException} whose message names the problem and
 * the key or tensor involved.
 */
class GgufFileBadInputTest {

    private static final String NAME = "a model with a long enough name";

    @TempDir
    Path dir;
    private byte[] good;
    private Path damaged;

    @BeforeEach
    void writeAGoodFile() throws IOException {
        Path p = dir.resolve("good.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", NAME)
                .putUint32("test.aa", 1)
                .putUint32("test.ab", 2)
                .putStringArray("test.list", "x", "y")
                .alignment(32)
                .addTensor("t.a", GgmlType.F32, new float[64], 32, 2)
                .addTensor("t.b", GgmlType.Q8_0, new float[64], 64)
                .write(p);
        good = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(2, f.tensors().size());
        }
        damaged = dir.resolve("damaged.gguf");
    }

    @Test
    void shouldRejectAWrongMagic() {
        byte[] b = good.clone();
        b[3] = 'X';
        assertMessage(b, "not a GGUF file (magic 0x58554747, expected 0x46554747 \"GGUF\")");
    }

    @Test
    void shouldRejectAnUnsupportedVersion() {
        byte[] b = good.clone();
        putU32(b, 4, 4);
        assertMessage(b, "unsupported GGUF version 4 (supported: 1 to 3)");
    }

    @Test
    void shouldRejectAFileTruncatedInTheHeader() {
        assertMessage(Arrays.copyOf(good, 10), "file is truncated: 10 bytes is less than a GGUF header");
    }

    @Test
    void shouldRejectAFileTruncatedInTheMetadataNamingTheKey() {
        int value = valueOffset("general.name");
        assertMessage(Arrays.copyOf(good, value + 8 + 5), "file is truncated at offset " + (value + 8)
                + " while reading value of 'general.name' (" + NAME.length() + " bytes needed, 5 left)");
    }

    @Test
    void shouldRejectAFileTruncatedInsideAnArrayNamingTheKeyAndElement() {
        int value = valueOffset("test.list");
        // element type, count, then element 0 ("x": 8 + 1 bytes); cut inside element 1
        assertMessage(Arrays.copyOf(good, value + 4 + 8 + 9 + 3), "while reading length of element 1 of array 'test.list'");
    }

    @Test
    void shouldRejectAFileTruncatedInTheTensorInfosNamingTheTensor() {
        int name = indexOf("t.b");
        assertMessage(Arrays.copyOf(good, name + 3 + 4 + 2), "while reading dimension 0 of tensor 't.b'");
    }

    @Test
    void shouldRejectAFileTruncatedInTheTensorDataNamingTheTensor() {
        assertMessage(Arrays.copyOf(good, good.length - 40),
                "file is truncated: tensor 't.b' needs bytes");
    }

    @Test
    void shouldRejectAnUnknownTensorTypeNamingTheTensor() {
        byte[] b = good.clone();
        int type = indexOf("t.b") + 3 + 4 + 8;
        assertEquals(GgmlType.Q8_0.id, getU32(b, type));
        putU32(b, type, 99);
        assertMessage(b, "tensor 't.b' has unknown tensor type 99");
    }

    @Test
    void shouldRejectAnUnknownMetadataValueTypeNamingTheKey() {
        byte[] b = good.clone();
        int type = indexOf("test.ab") + 7;
        putU32(b, type, 13);
        assertMessage(b, "metadata 'test.ab' at offset " + (indexOf("test.ab") - 8) + " has unknown value type 13");
    }

    @Test
    void shouldRejectAnUnknownArrayElementTypeNamingTheKey() {
        byte[] b = good.clone();
        putU32(b, valueOffset("test.list"), 42);
        assertMessage(b, "array 'test.list' has unknown element type 42");
    }

    @Test
    void shouldRejectAnAlignmentThatIsNotAPowerOfTwo() {
        byte[] b = good.clone();
        putU32(b, valueOffset("general.alignment"), 48);
        assertMessage(b, "general.alignment 48 is not a power of two");
        putU32(b, valueOffset("general.alignment"), 0);
        assertMessage(b, "general.alignment 0 is not a power of two");
    }

    @Test
    void shouldRejectAnAlignmentOfTheWrongType() {
        byte[] b = good.clone();
        putU32(b, indexOf("general.alignment") + "general.alignment".length(), GgufValueType.FLOAT32.id);
        assertMessage(b, "metadata 'general.alignment' should be an integer but is FLOAT32");
    }

    @Test
    void shouldRejectADuplicateKeyNamingIt() {
        byte[] b = good.clone();
        b[indexOf("test.ab") + 6] = 'a';
        assertMessage(b, "metadata key 'test.aa' appears twice");
    }

    @Test
    void shouldRejectADuplicateTensorNamingIt() {
        byte[] b = good.clone();
        b[indexOf("t.b") + 2] = 'a';
        assertMessage(b, "tensor 't.a' appears twice");
    }

    @Test
    void shouldRejectAMisalignedTensorOffsetNamingTheTensor() {
        byte[] b = good.clone();
        int offset = indexOf("t.b") + 3 + 4 + 8 + 4;
        putU64(b, offset, getU64(b, offset) + 4);
        assertMessage(b, "tensor 't.b' offset 260 is not aligned to 32");
    }

    @Test
    void shouldRejectRowsThatAreNotWholeBlocksNamingTheTensor() {
        byte[] b = good.clone();
        putU64(b, indexOf("t.b") + 3 + 4, 48);
        assertMessage(b, "tensor 't.b' of type Q8_0 has rows of 48 elements, not a multiple of the block size 32");
    }

    @Test
    void shouldRejectAZeroDimensionNamingTheTensor() {
        byte[] b = good.clone();
        putU64(b, indexOf("t.a") + 3 + 4 + 8, 0);
        assertMessage(b, "tensor 't.a' has dimension 1 = 0");
    }

    @Test
    void shouldRejectTooManyDimensionsNamingTheTensor() {
        byte[] b = good.clone();
        putU32(b, indexOf("t.a") + 3, 5);
        assertMessage(b, "tensor 't.a' has 5 dimensions (1 to 4 allowed)");
    }

    /** Was an OutOfMemoryError: the tensor table was allocated before the count was checked. */
    @Test
    void shouldRejectAHugeTensorCountWithoutAllocatingForIt() {
        byte[] b = good.clone();
        putU64(b, 8, 1L << 40);
        assertMessage(b, "tensor count 1099511627776 exceeds the file size");
    }

    /** Was an ArithmeticException: the element count overflowed a long. */
    @Test
    void shouldRejectDimensionsWhoseProductOverflowsNamingTheTensor() {
        byte[] b = good.clone();
        putU64(b, indexOf("t.a") + 3 + 4, 1L << 40);
        putU64(b, indexOf("t.a") + 3 + 4 + 8, 1L << 40);
        assertMessage(b, "tensor 't.a' has dims [1099511627776, 1099511627776]: more elements than a file can hold");
    }

    @Test
    void shouldRejectAHugeStringLengthNamingTheKey() {
        byte[] b = good.clone();
        putU64(b, valueOffset("general.name"), Long.MAX_VALUE);
        assertMessage(b, "while reading value of 'general.name' (" + Long.MAX_VALUE + " bytes needed");
    }

    @Test
    void shouldSayAMissingFileIsMissing() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> GgufFile.open(dir.resolve("absent.gguf")));
        assertTrue(e.getMessage().contains("model file not found"), e.getMessage());
    }

    private void assertMessage(byte[] bytes, String expectedPart) {
        try {
            Files.write(damaged, bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(damaged).close());
        assertTrue(e.getMessage().startsWith(damaged + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedPart), "message: " + e.getMessage() + "\nexpected to contain: " + expectedPart);
    }

    /** Offset of the first byte of {@code s}, which must occur exactly once. */
    private int indexOf(String s) {
        byte[] p = s.getBytes(StandardCharsets.UTF_8);
        int found = -1;
        for (int i = 0; i + p.length <= good.length; i++) {
            if (Arrays.equals(good, i, i + p.length, p, 0, p.length)
                    && getU64(good, i - 8) == p.length) {
                assertEquals(-1, found, "'" + s + "' occurs twice");
                found = i;
            }
        }
        assertTrue(found >= 0, "'" + s + "' not found");
        return found;
    }

    /** Offset of the value of metadata {@code key} (after its u32 type). */
    private int valueOffset(String key) {
        return indexOf(key) + key.length() + 4;
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int getU32(byte[] b, int at) {
        return le(b).getInt(at);
    }

    private static long getU64(byte[] b, int at) {
        return at < 0 ? -1 : le(b).getLong(at);
    }

    private static void putU32(byte[] b, int at, int v) {
        le(b).putInt(at, v);
    }

    private static void putU64(byte[] b, int at, long v) {
        le(b).putLong(at, v);
    }

    @Test
    void shouldRefuseArraysNestedTooDeepInsteadOfOverflowingTheStack() {
        int depth = 100_000; // 1.2 MB of "array of 1 array of ..." used to end in a StackOverflowError
        ByteBuffer b = ByteBuffer.allocate(64 + depth * 12 + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(0).putLong(1);
        byte[] key = "deep".getBytes(StandardCharsets.UTF_8);
        b.putLong(key.length).put(key).putInt(GgufValueType.ARRAY.id);
        for (int i = 0; i < depth; i++) {
            b.putInt(GgufValueType.ARRAY.id).putLong(1);
        }
        b.putInt(GgufValueType.UINT8.id).putLong(0);
        GgufFormatException e = assertThrows(GgufFormatException.class,
                () -> GgufFile.parse(java.lang.foreign.MemorySegment.ofArray(Arrays.copyOf(b.array(), b.position())),
                        Path.of("deep.gguf")));
        assertTrue(e.getMessage().contains("nested more than " + GgufFile.MAX_ARRAY_DEPTH), e.getMessage());
    }
}
