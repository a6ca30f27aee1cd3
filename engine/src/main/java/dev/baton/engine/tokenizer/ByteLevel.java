package dev.baton.engine.tokenizer;

/**
 * GPT-2's reversible mapping of the 256 byte values to printable characters, used by byte-level BPE
 * vocabularies: printable Latin-1 bytes map to themselves, the others to U+0100 upwards in byte
 * order (so the space 0x20 is 'Ġ' U+0120 and the newline 0x0A is 'Ċ' U+010A).
 */
final class ByteLevel {
    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[0x144];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + next++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevel() {}

    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** The byte a character stands for, or -1 if it is not one of the 256 mapped characters. */
    static int byteOf(int c) {
        return c >= 0 && c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
    }
}
