package dev.baton.kvtransfer.hosttier;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Flyweight over the memory-mapped slab file of a host tier: the file header, the slot table and
 * the slot data. Every process on the host maps the same file; the slot state words are changed
 * only by compare-and-set, which is atomic across processes because they are aligned 8-byte words
 * of the same physical pages.
 *
 * <pre>
 *   &lt;name&gt;.slab            native byte order (little-endian on x86-64 and aarch64)
 *   +--------------------------------------------------------------------------------+ 0
 *   | file header, 4096 bytes                                                        |
 *   |    0 magic "BATONHT1" (8)   8 layout version (4)   12 unused (4)                 |
 *   |   16 slot count (8)        24 slot stride (8)      32 block bytes (8)            |
 *   |   40 data offset (8)       48 creator's pid namespace (8)                        |
 *   |   shared counters, each on its own 64-byte line:                               |
 *   |   64 allocation hand   128 eviction hand   192 used slots   256 evictions        |
 *   |  320 reclaimed writes  384 mixed pid namespaces (0 or 1)                         |
 *   +--------------------------------------------------------------------------------+ 4096
 *   | slot table: slot count x 64-byte slot headers                                  |
 *   |    0 state word (8):  generation (bits 63..32) | writer pid (31..8) | state (7..0)|
 *   |    8 block hash hi (8)   16 block hash lo (8)   24 compatibility digest (8)      |
 *   |   32 last access, System.nanoTime (8)                                            |
 *   |   40 length (4)   44 unused (4)   48 write start, System.nanoTime (8)              |
 *   |   56 XXH3-64 of the bytes (8)                                                    |
 *   +--------------------------------------------------------------------------------+ data offset
 *   | slot 0: block bytes, padded to the slot stride                                 |   (4096-aligned)
 *   | slot 1                                                                         |
 *   | ...                                                                            |
 *   +--------------------------------------------------------------------------------+ data offset
 *                                                                                        + count x stride
 * </pre>
 *
 * <p>Slot states: {@code FREE} (0) → {@code WRITING} (1) → {@code READY} (2). Every transition out
 * of {@code READY} or {@code FREE} increments the generation, so a reader that saw {@code READY} at
 * generation g and still sees the same word after copying knows the bytes were not replaced
 * (a seqlock). The header fields of a slot are written only by the process that holds it in
 * {@code WRITING}; while {@code READY} they are read-only. Timestamps are {@code System.nanoTime},
 * which on Linux is {@code CLOCK_MONOTONIC} and so comparable between processes of one host.
 *
 * <p>Not a public type: {@link HostTier} owns the algorithm, this class only names the offsets.
 */
final class Slab {

    static final long MAGIC = 0x3154_484E_4F54_4142L; // "BATONHT1" read as a little-endian long
    /** 2: the slot checksum is an XXH3-64 at 56 (version 1: a CRC32C at 44). */
    static final int LAYOUT_VERSION = 2;
    static final long HEADER_BYTES = 4096;
    static final long SLOT_HEADER_BYTES = 64;

    static final int FREE = 0;
    static final int WRITING = 1;
    static final int READY = 2;

    private static final long MAGIC_AT = 0;
    private static final long VERSION_AT = 8;
    private static final long SLOT_COUNT_AT = 16;
    private static final long SLOT_STRIDE_AT = 24;
    private static final long BLOCK_BYTES_AT = 32;
    private static final long DATA_OFFSET_AT = 40;
    private static final long CREATOR_PID_NS_AT = 48;
    private static final long ALLOC_HAND_AT = 64;
    private static final long EVICT_HAND_AT = 128;
    private static final long USED_AT = 192;
    private static final long EVICTIONS_AT = 256;
    private static final long RECLAIMED_AT = 320;
    private static final long MIXED_PID_NS_AT = 384;

    private static final long STATE_AT = 0;
    private static final long HASH_HI_AT = 8;
    private static final long HASH_LO_AT = 16;
    private static final long COMPAT_AT = 24;
    private static final long LAST_ACCESS_AT = 32;
    private static final long LENGTH_AT = 40;
    private static final long WRITE_START_AT = 48;
    private static final long CHECKSUM_AT = 56;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final ValueLayout.OfLong J = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

    private final MemorySegment file;
    private final int slotCount;
    private final long slotStride;
    private final long dataOffset;

    private Slab(MemorySegment file, int slotCount, long slotStride, long dataOffset) {
        this.file = file;
        this.slotCount = slotCount;
        this.slotStride = slotStride;
        this.dataOffset = dataOffset;
    }

    /** Bytes of a slab file with {@code slotCount} slots of {@code slotStride} bytes. */
    static long fileBytes(long slotCount, long slotStride) {
        return dataOffset(slotCount) + slotCount * slotStride;
    }

    static long dataOffset(long slotCount) {
        return roundUp(HEADER_BYTES + slotCount * SLOT_HEADER_BYTES, 4096);
    }

    /** Slot stride for blocks of {@code blockBytes}: page-aligned from one page up, else cache-line aligned. */
    static long slotStride(long blockBytes) {
        return blockBytes >= 4096 ? roundUp(blockBytes, 4096) : roundUp(blockBytes, 64);
    }

    private static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }

    /** Writes the header of a freshly created (zero-filled) file; the magic goes last. */
    static void format(MemorySegment file, int slotCount, long slotStride, long blockBytes, long pidNamespace) {
        file.set(I, VERSION_AT, LAYOUT_VERSION);
        file.set(J, SLOT_COUNT_AT, slotCount);
        file.set(J, SLOT_STRIDE_AT, slotStride);
        file.set(J, BLOCK_BYTES_AT, blockBytes);
        file.set(J, DATA_OFFSET_AT, dataOffset(slotCount));
        file.set(J, CREATOR_PID_NS_AT, pidNamespace);
        LONG.setRelease(file, MAGIC_AT, MAGIC);
    }

    static boolean isFormatted(MemorySegment header) {
        return (long) LONG.getAcquire(header, MAGIC_AT) == MAGIC;
    }

    static int layoutVersion(MemorySegment header) {
        return header.get(I, VERSION_AT);
    }

    static long slotCount(MemorySegment header) {
        return header.get(J, SLOT_COUNT_AT);
    }

    static long blockBytes(MemorySegment header) {
        return header.get(J, BLOCK_BYTES_AT);
    }

    static Slab over(MemorySegment file) {
        return new Slab(file, (int) file.get(J, SLOT_COUNT_AT), file.get(J, SLOT_STRIDE_AT), file.get(J, DATA_OFFSET_AT));
    }

    int slotCount() {
        return slotCount;
    }

    // ---- state words ------------------------------------------------------------------------

    static long word(long generation, int pid, int state) {
        return (generation << 32) | ((long) (pid & 0xFF_FFFF) << 8) | state;
    }

    static int stateOf(long word) {
        return (int) (word & 0xFF);
    }

    static int pidOf(long word) {
        return (int) ((word >>> 8) & 0xFF_FFFF);
    }

    static long generationOf(long word) {
        return word >>> 32;
    }

    static long nextGeneration(long word) {
        return (generationOf(word) + 1) & 0xFFFF_FFFFL;
    }

    private long slotHeader(int slot) {
        return HEADER_BYTES + slot * SLOT_HEADER_BYTES;
    }

    long state(int slot) {
        return (long) LONG.getAcquire(file, slotHeader(slot) + STATE_AT);
    }

    boolean casState(int slot, long expected, long next) {
        return LONG.compareAndSet(file, slotHeader(slot) + STATE_AT, expected, next);
    }

    // ---- slot header fields (written only by the slot's WRITING owner, except last access) ---

    void setIdentity(int slot, long hashHi, long hashLo, long compat) {
        long h = slotHeader(slot);
        file.set(J, h + HASH_HI_AT, hashHi);
        file.set(J, h + HASH_LO_AT, hashLo);
        file.set(J, h + COMPAT_AT, compat);
    }

    long hashHi(int slot) {
        return file.get(J, slotHeader(slot) + HASH_HI_AT);
    }

    long hashLo(int slot) {
        return file.get(J, slotHeader(slot) + HASH_LO_AT);
    }

    long compat(int slot) {
        return file.get(J, slotHeader(slot) + COMPAT_AT);
    }

    void setSealed(int slot, int length, long checksum) {
        long h = slotHeader(slot);
        file.set(I, h + LENGTH_AT, length);
        file.set(J, h + CHECKSUM_AT, checksum);
    }

    int length(int slot) {
        return file.get(I, slotHeader(slot) + LENGTH_AT);
    }

    long checksum(int slot) {
        return file.get(J, slotHeader(slot) + CHECKSUM_AT);
    }

    /** Races between processes are harmless: last access only steers eviction. */
    void setLastAccess(int slot, long nanos) {
        LONG.setOpaque(file, slotHeader(slot) + LAST_ACCESS_AT, nanos);
    }

    long lastAccess(int slot) {
        return (long) LONG.getOpaque(file, slotHeader(slot) + LAST_ACCESS_AT);
    }

    void setWriteStart(int slot, long nanos) {
        LONG.setOpaque(file, slotHeader(slot) + WRITE_START_AT, nanos);
    }

    long writeStart(int slot) {
        return (long) LONG.getOpaque(file, slotHeader(slot) + WRITE_START_AT);
    }

    /** File offset of the first data byte of {@code slot}. */
    long dataAt(int slot) {
        return dataOffset + slot * slotStride;
    }

    MemorySegment segment() {
        return file;
    }

    // ---- shared counters ---------------------------------------------------------------------

    long allocationHand() {
        return (long) LONG.getOpaque(file, ALLOC_HAND_AT);
    }

    void setAllocationHand(long v) {
        LONG.setOpaque(file, ALLOC_HAND_AT, v);
    }

    /** Returns the hand before advancing it by one: each caller starts its eviction window one slot on. */
    long advanceEvictionHand() {
        return (long) LONG.getAndAdd(file, EVICT_HAND_AT, 1L);
    }

    long used() {
        return (long) LONG.getVolatile(file, USED_AT);
    }

    void addUsed(long delta) {
        LONG.getAndAdd(file, USED_AT, delta);
    }

    boolean casUsed(long expected, long next) {
        return LONG.compareAndSet(file, USED_AT, expected, next);
    }

    long evictions() {
        return (long) LONG.getVolatile(file, EVICTIONS_AT);
    }

    void addEviction() {
        LONG.getAndAdd(file, EVICTIONS_AT, 1L);
    }

    long reclaimedWrites() {
        return (long) LONG.getVolatile(file, RECLAIMED_AT);
    }

    void addReclaimedWrite() {
        LONG.getAndAdd(file, RECLAIMED_AT, 1L);
    }

    long creatorPidNamespace() {
        return file.get(J, CREATOR_PID_NS_AT);
    }

    boolean mixedPidNamespaces() {
        return (long) LONG.getOpaque(file, MIXED_PID_NS_AT) != 0;
    }

    void markMixedPidNamespaces() {
        LONG.setVolatile(file, MIXED_PID_NS_AT, 1L);
    }
}
