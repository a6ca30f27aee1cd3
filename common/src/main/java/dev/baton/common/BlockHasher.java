package dev.baton.common;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The one definition of the KV block hash (docs/design.md §6). The router, prefill and decode nodes and
 * the host tier all hash through this class, so their block hashes agree bit for bit.
 *
 * <pre>
 *   h_{-1} = XXH3-128( u32 LE scheme version ‖ fingerprint.lo LE ‖ fingerprint.hi LE ‖ tenant salt UTF-8 )
 *   h_i    = XXH3-128( h_{i-1}.lo LE ‖ h_{i-1}.hi LE ‖ tokens[i*B .. (i+1)*B) as LE int32 )
 * </pre>
 * XXH3-128 with seed 0; {@code B} is the block size in tokens. Only full blocks are hashed: the
 * trailing partial block of a sequence has no hash until it fills. Changing anything in this
 * definition must bump {@link #SCHEME_VERSION}.
 *
 * <p><b>Threading</b>: {@link #next} reuses an internal buffer, so an instance must be used by one
 * thread at a time (one per engine loop or per router worker); {@link #root()} and the accessors are
 * safe from any thread. {@link #next} allocates nothing but the returned record.
 */
public final class BlockHasher {

    /** Version of the hash definition above; part of the chain root. */
    public static final int SCHEME_VERSION = 1;

    private final ModelFingerprint fingerprint;
    private final String tenantSalt;
    private final int schemeVersion;
    private final int blockSize;
    private final BlockHash root;
    private final byte[] buffer;
    private final long[] loHi = new long[2];

    /**
     * @param fingerprint the model's fingerprint
     * @param tenantSalt  the tenant's cache salt ({@code ""} when caches are shared by everyone)
     * @param blockSize   tokens per block, at least 1
     */
    public BlockHasher(ModelFingerprint fingerprint, String tenantSalt, int blockSize) {
        this(SCHEME_VERSION, fingerprint, tenantSalt, blockSize);
    }

    /** With an explicit scheme version: only for tests that show the version is part of the root. */
    BlockHasher(int schemeVersion, ModelFingerprint fingerprint, String tenantSalt, int blockSize) {
        this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
        this.tenantSalt = Objects.requireNonNull(tenantSalt, "tenantSalt");
        if (blockSize < 1 || blockSize > (Integer.MAX_VALUE - 16) / 4) {
            throw new IllegalArgumentException("blockSize must be 1.." + (Integer.MAX_VALUE - 16) / 4 + ", got " + blockSize);
        }
        this.blockSize = blockSize;
        this.buffer = new byte[16 + 4 * blockSize];
        this.schemeVersion = schemeVersion;
        this.root = rootOf(tenantSalt);
    }

    private BlockHash rootOf(String tenantSalt) {
        byte[] salt = tenantSalt.getBytes(StandardCharsets.UTF_8);
        byte[] rootInput = new byte[4 + 16 + salt.length];
        LittleEndian.putInt(rootInput, 0, schemeVersion);
        LittleEndian.putLong(rootInput, 4, fingerprint.lo());
        LittleEndian.putLong(rootInput, 12, fingerprint.hi());
        System.arraycopy(salt, 0, rootInput, 20, salt.length);
        long[] r = new long[2];
        Xxh3.hash(rootInput, 0, rootInput.length, r);
        return new BlockHash(r[1], r[0]);
    }

    /** {@code h_{-1}}: the parent of the first block, with this hasher's tenant salt. */
    public BlockHash root() {
        return root;
    }

    /**
     * {@code h_{-1}} with another tenant's cache salt: a request's own salt (its API field
     * {@code cache_salt}) on a hasher made with the empty one. The hasher's own salt answers from
     * memory; another is hashed on each call (tens of nanoseconds, a few small allocations).
     */
    public BlockHash root(String tenantSalt) {
        return this.tenantSalt.equals(tenantSalt) ? root : rootOf(tenantSalt);
    }

    /**
     * The hash of the block {@code tokens[offset .. offset + blockSize)} whose predecessor has hash
     * {@code parent} ({@link #root()} for the first block). Not thread-safe (see the class comment).
     *
     * @throws IndexOutOfBoundsException if fewer than {@code blockSize} tokens follow {@code offset}
     */
    public BlockHash next(BlockHash parent, int[] tokens, int offset) {
        Objects.checkFromIndexSize(offset, blockSize, tokens.length);
        byte[] b = buffer;
        LittleEndian.putLong(b, 0, parent.lo());
        LittleEndian.putLong(b, 8, parent.hi());
        for (int i = 0; i < blockSize; i++) {
            LittleEndian.putInt(b, 16 + 4 * i, tokens[offset + i]);
        }
        Xxh3.hash(b, 0, b.length, loHi);
        return new BlockHash(loHi[1], loHi[0]);
    }

    /**
     * The hashes of every full block of {@code tokens[0 .. length)}: {@code length / blockSize} of them;
     * a trailing partial block is not hashed. Not thread-safe (see the class comment).
     */
    public BlockHash[] hashFullBlocks(int[] tokens, int length) {
        return hashFullBlocks(root, tokens, length);
    }

    /**
     * {@link #hashFullBlocks(int[], int)} from the root {@code root} (see {@link #root(String)}).
     * Not thread-safe (see the class comment).
     */
    public BlockHash[] hashFullBlocks(BlockHash root, int[] tokens, int length) {
        Objects.checkFromIndexSize(0, length, tokens.length);
        BlockHash[] out = new BlockHash[length / blockSize];
        BlockHash parent = root;
        for (int i = 0; i < out.length; i++) {
            parent = next(parent, tokens, i * blockSize);
            out[i] = parent;
        }
        return out;
    }

    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    public String tenantSalt() {
        return tenantSalt;
    }

    /** Tokens per block. */
    public int blockSize() {
        return blockSize;
    }
}
