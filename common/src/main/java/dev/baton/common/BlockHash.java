package dev.baton.common;

/**
 * The 128-bit hash of one full KV block and, through the chain, of every token before it
 * (docs/design.md §6); computed only by {@link BlockHasher}. Immutable.
 *
 * <p>{@code hi} and {@code lo} are the high and low 64 bits of the XXH3-128 digest. In the hash chain
 * and on the wire the digest is 16 bytes: {@code lo} little-endian, then {@code hi} little-endian.
 * {@link #toString()} gives the canonical 32 lowercase hex digits, {@code hi} first (as {@code xxhsum -H2}
 * prints it).
 */
public record BlockHash(long hi, long lo) {

    /** Writes the 16-byte form ({@code lo} LE, then {@code hi} LE) into {@code dst} at {@code offset}. */
    public void writeTo(byte[] dst, int offset) {
        LittleEndian.putLong(dst, offset, lo);
        LittleEndian.putLong(dst, offset + 8, hi);
    }

    /** Parses the 32-hex-digit form of {@link #toString()}. */
    public static BlockHash parse(String hex) {
        long[] v = Hex.parse128(hex, "block hash");
        return new BlockHash(v[0], v[1]);
    }

    @Override
    public String toString() {
        return Hex.format128(hi, lo);
    }
}
