package dev.baton.engine.kv;

import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import dev.baton.engine.EngineException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.zip.CRC32C;

/**
 * A sequence's KV exported from one engine, to be imported into another: the compatibility tuple,
 * the token ids whose KV it holds ({@code tokens.length} positions), and the bytes of its blocks in
 * block-table order (the last block may be partly filled).
 *
 * <p>The stream form (for files and tests across processes; network transfers use kv-transfer):
 *
 * <pre>
 *   u32 magic "BKVS" | u32 version | compatibility tuple | u32 tokenCount | i32 tokens[tokenCount]
 *   u32 blockCount | u64 blockBytes | blocks | u32 CRC32C of the blocks
 * </pre>
 * big-endian header fields (java.io.DataOutput), block bytes as they are in memory (little-endian).
 */
public record KvSnapshot(KvCompatibility compatibility, int[] tokens, byte[][] blocks) {

    private static final int MAGIC = 0x424b5653; // "BKVS"

    /** Copies the blocks of {@code seq}, which holds KV for {@code tokens[0, seq.length())}. */
    public static KvSnapshot of(KvCompatibility compat, KvSequence seq, int[] tokens) {
        if (tokens.length < seq.length()) {
            throw new EngineException("export needs the " + seq.length() + " tokens of the sequence, got " + tokens.length);
        }
        int used = (seq.length() + seq.pool().spec().blockSize() - 1) / seq.pool().spec().blockSize();
        byte[][] blocks = new byte[used][];
        for (int i = 0; i < used; i++) {
            blocks[i] = seq.pool().block(seq.blockTable()[i]).toArray(ValueLayout.JAVA_BYTE);
        }
        return new KvSnapshot(compat, java.util.Arrays.copyOf(tokens, seq.length()), blocks);
    }

    /**
     * Imports into a fresh sequence of {@code pool}: refuses a different compatibility tuple with
     * {@link KvIncompatibleException}; on any failure the blocks taken are returned to the pool.
     */
    public KvSequence importInto(KvBlockPool pool, KvCompatibility expected) {
        String why = expected.mismatch(compatibility);
        if (why != null) {
            throw new KvIncompatibleException(why);
        }
        long blockBytes = pool.spec().blockBytes();
        int need = (tokens.length + pool.spec().blockSize() - 1) / pool.spec().blockSize();
        if (blocks.length != need) {
            throw new EngineException("KV snapshot of " + tokens.length + " positions has " + blocks.length
                    + " blocks, expected " + need);
        }
        KvSequence seq = new KvSequence(pool);
        try {
            seq.reserve(tokens.length);
            for (int i = 0; i < blocks.length; i++) {
                if (blocks[i].length != blockBytes) {
                    throw new EngineException("KV snapshot block " + i + " has " + blocks[i].length + " bytes, expected "
                            + blockBytes);
                }
                MemorySegment.copy(MemorySegment.ofArray(blocks[i]), 0, pool.memory(),
                        pool.blockOffset(seq.blockTable()[i]), blockBytes);
            }
            seq.setLength(tokens.length);
            return seq;
        } catch (RuntimeException e) {
            seq.free();
            throw e;
        }
    }

    public void writeTo(OutputStream os) throws IOException {
        DataOutputStream out = new DataOutputStream(os);
        out.writeInt(MAGIC);
        out.writeInt(KvCompatibility.PROTOCOL_VERSION);
        KvCompatibility c = compatibility;
        out.writeLong(c.model().hi());
        out.writeLong(c.model().lo());
        out.writeUTF(c.dtype());
        out.writeInt(c.blockSize());
        out.writeUTF(c.layout());
        out.writeInt(c.layerCount());
        out.writeInt(c.kvHeadCount());
        out.writeInt(c.headDim());
        out.writeInt(c.protocolVersion());
        out.writeInt(tokens.length);
        for (int t : tokens) {
            out.writeInt(t);
        }
        out.writeInt(blocks.length);
        out.writeLong(blocks.length == 0 ? 0 : blocks[0].length);
        CRC32C crc = new CRC32C();
        for (byte[] b : blocks) {
            out.write(b);
            crc.update(b);
        }
        out.writeInt((int) crc.getValue());
        out.flush();
    }

    /** Reads a snapshot written by {@link #writeTo}; corrupt or truncated input gives a clear exception. */
    public static KvSnapshot readFrom(InputStream is) throws IOException {
        DataInputStream in = new DataInputStream(is);
        try {
            if (in.readInt() != MAGIC) {
                throw new EngineException("not a KV snapshot (bad magic)");
            }
            int version = in.readInt();
            if (version != KvCompatibility.PROTOCOL_VERSION) {
                throw new KvIncompatibleException("KV snapshot version " + version + ", this build reads "
                        + KvCompatibility.PROTOCOL_VERSION);
            }
            ModelFingerprint fp = new ModelFingerprint(in.readLong(), in.readLong());
            KvCompatibility c = new KvCompatibility(fp, in.readUTF(), in.readInt(), in.readUTF(), in.readInt(),
                    in.readInt(), in.readInt(), in.readInt());
            int n = in.readInt();
            if (n < 0 || n > 1 << 24) {
                throw new EngineException("KV snapshot claims " + n + " tokens");
            }
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = in.readInt();
            }
            int count = in.readInt();
            long bytes = in.readLong();
            if (count < 0 || bytes < 0 || bytes > Integer.MAX_VALUE || (long) count * bytes > (1L << 40)) {
                throw new EngineException("KV snapshot claims " + count + " blocks of " + bytes + " bytes");
            }
            byte[][] blocks = new byte[count][];
            CRC32C crc = new CRC32C();
            for (int i = 0; i < count; i++) {
                blocks[i] = in.readNBytes((int) bytes);
                if (blocks[i].length != bytes) {
                    throw new EOFException();
                }
                crc.update(blocks[i]);
            }
            if (in.readInt() != (int) crc.getValue()) {
                throw new EngineException("KV snapshot CRC32C mismatch: the block bytes are corrupt");
            }
            return new KvSnapshot(c, tokens, blocks);
        } catch (EOFException e) {
            throw new EngineException("KV snapshot is truncated", e);
        }
    }
}
