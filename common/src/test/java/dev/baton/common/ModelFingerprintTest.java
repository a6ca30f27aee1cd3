package dev.baton.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pinned values computed independently with python-xxhash from the definition in {@link ModelFingerprint}. */
class ModelFingerprintTest {

    @Test
    void shouldHashTheEmptyFileToXxh3OfNothing() {
        assertEquals("99aa06d3014798d86001c324468d497f", ModelFingerprint.of(MemorySegment.ofArray(new byte[0])).toString());
    }

    @Test
    void shouldPinASingleChunkFile() {
        assertEquals(ModelFingerprint.parse("681bd0aa9cf3956d48bae6cf6dd83549"), ModelFingerprint.of(MemorySegment.ofArray(pattern1000())));
    }

    @Test
    void shouldReadTheSameFromAFileAsFromTheHeap(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.bin");
        Files.write(f, pattern1000());
        assertEquals(ModelFingerprint.parse("681bd0aa9cf3956d48bae6cf6dd83549"), ModelFingerprint.of(f));
    }

    @Test
    void shouldChainDigestsOfEach64MiBChunk() {
        long size = ModelFingerprint.CHUNK_BYTES + 100;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(size);
            for (long i = 0; i < size; i++) {
                seg.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
            }
            assertEquals("f267cd34b6bd4cc6c72588ea0711947c", ModelFingerprint.of(seg).toString());
        }
    }

    @Test
    void shouldRoundTripItsHexForm() {
        ModelFingerprint fp = new ModelFingerprint(0x8000000000000001L, 0x00ff00ff00ff00ffL);
        assertEquals("800000000000000100ff00ff00ff00ff", fp.toString());
        assertEquals(fp, ModelFingerprint.parse(fp.toString()));
    }

    @Test
    void shouldRejectMalformedHexNamingTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFingerprint.parse("abc"));
        assertEquals("model fingerprint must be 32 hex digits, got \"abc\" (3 characters)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelFingerprint.parse("zz" + "0".repeat(30)));
    }

    private static byte[] pattern1000() {
        byte[] b = new byte[1000];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) i;
        }
        return b;
    }
}
