package dev.baton.common;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A 128-bit fingerprint of a model file's bytes: two nodes whose fingerprints match serve the same
 * weights and tokenizer, so their KV blocks are interchangeable (it seeds every block hash chain, and
 * the kv-transfer handshake compares it). Immutable.
 *
 * <p>Definition (version 1), chosen so that a multi-GB memory-mapped file is hashed in place, never
 * copied to the heap, and chunks could be hashed in parallel:
 * <pre>
 *   chunk_j  = bytes [j * 64 MiB, min((j + 1) * 64 MiB, size))      j = 0 .. ceil(size / 64 MiB) - 1
 *   d_j      = XXH3-128(chunk_j)                                     16 bytes: lo LE, then hi LE
 *   print    = XXH3-128(d_0 ‖ d_1 ‖ ... ‖ d_{n-1})                   (an empty file: XXH3-128 of nothing)
 * </pre>
 * {@link #toString()} gives 32 lowercase hex digits, {@code hi} first.
 */
public record ModelFingerprint(long hi, long lo) {

    /** Bytes per chunk in the definition above. Changing it changes every fingerprint. */
    public static final long CHUNK_BYTES = 64L << 20;

    /**
     * Fingerprints {@code fileBytes} (a heap or native segment; read only, not retained). Runs in the
     * calling thread; about the speed of reading the bytes once.
     */
    public static ModelFingerprint of(MemorySegment fileBytes) {
        long size = fileBytes.byteSize();
        long chunks = (size + CHUNK_BYTES - 1) / CHUNK_BYTES;
        if (chunks > Integer.MAX_VALUE / 16) {
            throw new IllegalArgumentException("file of " + size + " bytes is too large to fingerprint");
        }
        byte[] digests = new byte[(int) chunks * 16];
        long[] loHi = new long[2];
        for (int j = 0; j < chunks; j++) {
            long start = j * CHUNK_BYTES;
            Xxh3.hash(fileBytes, start, Math.min(CHUNK_BYTES, size - start), loHi);
            LittleEndian.putLong(digests, j * 16, loHi[0]);
            LittleEndian.putLong(digests, j * 16 + 8, loHi[1]);
        }
        Xxh3.hash(digests, 0, digests.length, loHi);
        return new ModelFingerprint(loHi[1], loHi[0]);
    }

    /** Maps {@code file} read-only and fingerprints it; the mapping is released before returning. */
    public static ModelFingerprint of(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined();
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return of(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena));
        }
    }

    /** Parses the 32-hex-digit form of {@link #toString()}. */
    public static ModelFingerprint parse(String hex) {
        long[] v = Hex.parse128(hex, "model fingerprint");
        return new ModelFingerprint(v[0], v[1]);
    }

    @Override
    public String toString() {
        return Hex.format128(hi, lo);
    }
}
