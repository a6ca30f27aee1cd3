package dev.baton.kvtransfer.hosttier;

import dev.baton.common.BlockHash;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host tier: KV blocks in shared memory that every node process on a host can read, keyed by
 * block hash, bounded in bytes, with eviction (docs/design.md §5, §6). It is a same-host transport (one
 * process puts a block, another gets it) and the store that prefix reuse reads from.
 *
 * <h2>Files</h2>
 * Two files under {@link HostTierSettings#directory()} (normally on {@code /dev/shm}):
 * <ul>
 *   <li>{@code <name>.slab}: header, slot table and block bytes, memory-mapped by every process
 *       (layout in {@link Slab}). Block bytes are copied once each way; they never pass through the map.</li>
 *   <li>{@code <name>.index}: a Chronicle Map from (block hash, compatibility digest) to slot and
 *       generation (layout in {@link HostTierIndex}).</li>
 * </ul>
 *
 * <h2>Protocol</h2>
 * <ul>
 *   <li><b>put</b>: claim a slot (a FREE one, else evict: the least recently used READY slot of a
 *       window of {@value #EVICTION_SAMPLE} after a shared clock hand), mark it WRITING with a new
 *       generation and this process's pid, copy the bytes in and their XXH3-64 checksum (computed in
 *       the same pass, {@link Xxh3Copy}), mark it READY, then
 *       publish it in the index. A writer that dies leaves a WRITING slot that no reader can see and
 *       that any process takes back once the writer's pid is gone or the stale-write timeout passed.</li>
 *   <li><b>get</b>: look up the index, check the slot is READY at the indexed generation, copy the bytes
 *       out while computing their checksum, check the state word again (a seqlock: an eviction during
 *       the copy turns the read into a {@link GetResult#MISS}), then compare the checksum. Readers take no
 *       pin, so a reader that dies holds nothing and never blocks eviction.</li>
 *   <li>Eviction only ever takes READY slots; a WRITING slot is taken back only once stale. A writer
 *       that overruns the stale-write timeout and keeps writing can damage the bytes of the slot's
 *       next owner: readers then get {@link GetResult#CORRUPT}, never wrong bytes.</li>
 * </ul>
 *
 * <h2>Limits</h2>
 * <ul>
 *   <li>Eviction is approximate LRU: the oldest of a small window, not of the whole tier.</li>
 *   <li>Timestamps are {@code System.nanoTime}, comparable between processes on Linux (one
 *       {@code CLOCK_MONOTONIC} per host, unless processes sit in different time namespaces).</li>
 *   <li>A dead writer is recognised at once only when every process shares one pid namespace;
 *       otherwise its slot comes back after the stale-write timeout.</li>
 *   <li>A process killed inside an index operation (microseconds) can leave a Chronicle Map segment
 *       locked; operations on that segment then throw {@link HostTierException} after Chronicle's
 *       lock timeout, until the files are deleted or recovered with no process using them.</li>
 * </ul>
 *
 * <h2>Threading and ownership</h2>
 * A handle is thread-safe; any number of handles in any number of processes may use the same files
 * at once. The handle owns its mapping and its index handle: {@link #close()} unmaps both and must not
 * race with other calls on the same handle. Nothing is allocated per block on the put/get path.
 * Normal outcomes are return codes ({@link PutResult},
 * {@link GetResult}); only misconfiguration and I/O failures at {@link #open} throw {@link HostTierException}.
 */
public final class HostTier implements AutoCloseable {

    /** READY slots an eviction compares by last access before taking the oldest. */
    static final int EVICTION_SAMPLE = 8;
    /** Stores between two checks of the index size for stale entries (a power of two). */
    static final int PURGE_CHECK_INTERVAL = 4096;

    /** Serializes open within this JVM; the file lock serializes it between processes. */
    private static final Object OPEN_LOCK = new Object();

    private final HostTierSettings settings;
    private final Arena arena;
    private final Slab slab;
    private final HostTierIndex index;
    private final long compat;
    private final long blockBytes;
    private final int slotCount;
    private final int pid;
    private final long staleWriteNs;
    private final Liveness liveness;
    private final HostPrefixIndex prefixIndex;

    private final AtomicLong stored = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong corrupt = new AtomicLong();

    /** Whether an index reference still names a READY slot at its generation. */
    interface Liveness {
        boolean isLive(long ref);
    }

    private HostTier(HostTierSettings settings, Arena arena, Slab slab, HostTierIndex index) {
        this.settings = settings;
        this.arena = arena;
        this.slab = slab;
        this.index = index;
        this.compat = settings.compatibilityDigest();
        this.blockBytes = settings.blockBytes();
        this.slotCount = slab.slotCount();
        long p = ProcessHandle.current().pid();
        this.pid = p > 0 && p <= 0xFF_FFFF ? (int) p : 0;
        this.staleWriteNs = settings.staleWriteTimeoutNs();
        this.liveness = ref -> slab.state(HostTierIndex.slotOf(ref))
                == Slab.word(HostTierIndex.generationOf(ref), 0, Slab.READY);
        this.prefixIndex = new HostPrefixIndex(this);
    }

    /**
     * Opens the host tier named by {@code settings}, creating its directory and files when they do not
     * exist. Safe to call from several processes at once (creation is serialized by a file lock).
     *
     * @throws HostTierException when the settings are invalid, the existing files have another shape
     *                           (slot count or block bytes), or the files cannot be created or mapped
     */
    public static HostTier open(HostTierSettings settings) {
        settings.validate();
        Path slabFile = settings.slabFile();
        int slotCount = (int) settings.slotCount();
        long stride = settings.slotStride();
        long fileBytes = Slab.fileBytes(slotCount, stride);
        long pidNamespace = pidNamespace();
        synchronized (OPEN_LOCK) {
            Arena arena = Arena.ofShared();
            try {
                Files.createDirectories(settings.directory());
                Slab slab;
                try (FileChannel ch = FileChannel.open(slabFile, StandardOpenOption.READ, StandardOpenOption.WRITE,
                        StandardOpenOption.CREATE);
                        FileLock lock = ch.lock()) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect((int) Slab.HEADER_BYTES);
                    boolean complete = ch.size() >= Slab.HEADER_BYTES && ch.read(buffer, 0) == Slab.HEADER_BYTES;
                    MemorySegment header = MemorySegment.ofBuffer(buffer.flip());
                    if (complete && Slab.isFormatted(header)) {
                        checkShape(settings, header, ch.size(), fileBytes);
                        slab = Slab.over(ch.map(FileChannel.MapMode.READ_WRITE, 0, fileBytes, arena));
                    } else {
                        // A new tier, or one whose creator died before writing the magic: start clean.
                        Files.deleteIfExists(settings.indexFile());
                        ch.truncate(0);
                        ch.write(ByteBuffer.allocate(1), fileBytes - 1);
                        MemorySegment file = ch.map(FileChannel.MapMode.READ_WRITE, 0, fileBytes, arena);
                        Slab.format(file, slotCount, stride, settings.blockBytes(), pidNamespace);
                        slab = Slab.over(file);
                    }
                    if (pidNamespace < 0 || slab.creatorPidNamespace() != pidNamespace) {
                        slab.markMixedPidNamespaces();
                    }
                    long entries = Math.max(1024, slotCount + slotCount / 4L);
                    HostTierIndex index = HostTierIndex.open(settings.indexFile(), settings.name(), entries);
                    return new HostTier(settings, arena, slab, index);
                }
            } catch (IOException e) {
                arena.close();
                throw new HostTierException("host tier " + slabFile + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    private static void checkShape(HostTierSettings s, MemorySegment header, long size, long fileBytes) {
        if (Slab.layoutVersion(header) != Slab.LAYOUT_VERSION) {
            throw new HostTierException("host tier " + s.slabFile() + " has layout version " + Slab.layoutVersion(header)
                    + " (this build reads " + Slab.LAYOUT_VERSION + "): delete its files or use another name");
        }
        if (Slab.slotCount(header) != s.slotCount() || Slab.blockBytes(header) != s.blockBytes() || size != fileBytes) {
            throw new HostTierException("host tier " + s.slabFile() + " was created with " + Slab.slotCount(header)
                    + " slots of " + Slab.blockBytes(header) + " bytes; this process asks for " + s.slotCount()
                    + " slots of " + s.blockBytes() + " bytes (capacityBytes " + s.capacityBytes()
                    + "): every process must use the same capacity and block bytes for one name");
        }
    }

    /** Inode of this process's pid namespace, or -1 when it cannot be read. */
    private static long pidNamespace() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString(); // "pid:[4026531836]"
            int open = link.indexOf('[');
            int close = link.indexOf(']');
            return open >= 0 && close > open ? Long.parseLong(link.substring(open + 1, close)) : -1;
        } catch (IOException | UnsupportedOperationException | NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Deletes the files of the tier {@code name} under {@code directory}. Only for a tier no process
     * has open (tests, operators); open handles keep their mappings but stop sharing with new ones.
     */
    public static void deleteFiles(Path directory, String name) throws IOException {
        Files.deleteIfExists(directory.resolve(name + ".slab"));
        Files.deleteIfExists(directory.resolve(name + ".index"));
    }

    public HostTierSettings settings() {
        return settings;
    }

    /** Bytes of one block: what {@link #put} takes and {@link #get} writes. */
    public long blockBytes() {
        return blockBytes;
    }

    /** A view of which hashes this handle's compatibility has in the tier. */
    public HostPrefixIndex prefixIndex() {
        return prefixIndex;
    }

    // ---- put -------------------------------------------------------------------------------

    /**
     * Stores a copy of {@code src} (exactly {@link #blockBytes()} bytes, read only, not retained) under
     * {@code hash} for this handle's compatibility; when the tier is full it evicts the least recently
     * used READY block of a window of {@value #EVICTION_SAMPLE} slots after the shared clock hand.
     *
     * @return {@link PutResult#STORED}, {@link PutResult#ALREADY_PRESENT}, {@link PutResult#NO_SPACE},
     *         {@link PutResult#WRONG_SIZE} or (rarely) {@link PutResult#EXPIRED}
     */
    public PutResult put(BlockHash hash, MemorySegment src) {
        if (src.byteSize() != blockBytes) {
            return PutResult.WRONG_SIZE;
        }
        long hi = hash.hi();
        long lo = hash.lo();
        if (refreshIfPresent(hi, lo)) {
            return PutResult.ALREADY_PRESENT;
        }
        long ref = claimSlot(hi, lo);
        if (ref == HostTierIndex.NONE) {
            return PutResult.NO_SPACE;
        }
        long checksum = Xxh3Copy.copyAndHash(src, 0, slab.segment(), slab.dataAt(HostTierIndex.slotOf(ref)), blockBytes);
        return seal(ref, hi, lo, checksum);
    }

    /**
     * Holds a slot for {@code hash} so the caller can write the block in place (no staging copy), then
     * {@link HostTierClaim#commit()} or {@link HostTierClaim#abort()} it. A claim not committed within
     * the stale-write timeout may be taken back by another process. {@code claim} must not hold a slot.
     * Allocates one small segment view per claim (the claim's buffer, confined to the slot).
     *
     * @return {@link PutResult#CLAIMED} (the claim now holds a slot), {@link PutResult#ALREADY_PRESENT}
     *         or {@link PutResult#NO_SPACE}
     */
    public PutResult tryClaim(BlockHash hash, HostTierClaim claim) {
        if (claim.isHeld()) {
            throw new IllegalStateException("the claim already holds a slot: commit or abort it first");
        }
        long hi = hash.hi();
        long lo = hash.lo();
        if (refreshIfPresent(hi, lo)) {
            return PutResult.ALREADY_PRESENT;
        }
        long ref = claimSlot(hi, lo);
        if (ref == HostTierIndex.NONE) {
            return PutResult.NO_SPACE;
        }
        claim.hold(this, ref, hi, lo, slab.segment().asSlice(slab.dataAt(HostTierIndex.slotOf(ref)), blockBytes));
        return PutResult.CLAIMED;
    }

    PutResult commitClaim(long ref, long hi, long lo) {
        long checksum = Xxh3Copy.copyAndHash(slab.segment(), slab.dataAt(HostTierIndex.slotOf(ref)), null, 0, blockBytes);
        return seal(ref, hi, lo, checksum);
    }

    boolean abortClaim(long ref) {
        int slot = HostTierIndex.slotOf(ref);
        long writing = Slab.word(HostTierIndex.generationOf(ref), pid, Slab.WRITING);
        if (slab.casState(slot, writing, Slab.word(Slab.nextGeneration(writing), 0, Slab.FREE))) {
            slab.addUsed(-1);
            return true;
        }
        return false;
    }

    private boolean refreshIfPresent(long hi, long lo) {
        long ref = index.lookup(hi, lo, compat);
        if (ref != HostTierIndex.NONE && liveness.isLive(ref)) {
            slab.setLastAccess(HostTierIndex.slotOf(ref), System.nanoTime());
            return true;
        }
        return false;
    }

    /** WRITING → READY, then publish in the index unless another writer published the same key first. */
    private PutResult seal(long ref, long hi, long lo, long checksum) {
        int slot = HostTierIndex.slotOf(ref);
        long generation = HostTierIndex.generationOf(ref);
        long ready = Slab.word(generation, 0, Slab.READY);
        slab.setSealed(slot, (int) blockBytes, checksum);
        slab.setLastAccess(slot, System.nanoTime());
        if (!slab.casState(slot, Slab.word(generation, pid, Slab.WRITING), ready)) {
            return PutResult.EXPIRED;
        }
        long existing = index.publish(hi, lo, compat, ref, liveness);
        if (existing != HostTierIndex.NONE) {
            if (slab.casState(slot, ready, Slab.word(Slab.nextGeneration(ready), 0, Slab.FREE))) {
                slab.addUsed(-1);
            }
            return existing == HostTierIndex.FULL ? PutResult.NO_SPACE : PutResult.ALREADY_PRESENT;
        }
        if ((stored.incrementAndGet() & (PURGE_CHECK_INTERVAL - 1)) == 0 && index.size() > 2L * slotCount) {
            index.purgeStale(liveness);
        }
        return PutResult.STORED;
    }

    /**
     * Takes a slot into WRITING for this process: a FREE one while the tier is not full, else by
     * eviction. Writes the slot's identity. Returns its reference or {@link HostTierIndex#NONE}.
     */
    private long claimSlot(long hi, long lo) {
        long now = System.nanoTime();
        long ref = slab.used() < slotCount ? claimFree(now) : HostTierIndex.NONE;
        if (ref == HostTierIndex.NONE) {
            ref = claimByEviction(now);
        }
        if (ref != HostTierIndex.NONE) {
            slab.setIdentity(HostTierIndex.slotOf(ref), hi, lo, compat);
        }
        return ref;
    }

    private long claimFree(long now) {
        long used = slab.used();
        long start = slab.allocationHand();
        for (long n = 0; n < slotCount; n++) {
            int slot = (int) Long.remainderUnsigned(start + n, slotCount);
            long w = slab.state(slot);
            if (Slab.stateOf(w) == Slab.FREE) {
                long ref = take(slot, w, now);
                if (ref != HostTierIndex.NONE) {
                    slab.addUsed(1);
                    slab.setAllocationHand(slot + 1L);
                    return ref;
                }
            }
        }
        // None free although the count said so: a process died between a state change and the
        // count update. Correct the count so the next claim goes straight to eviction.
        slab.casUsed(used, slotCount);
        return HostTierIndex.NONE;
    }

    private long claimByEviction(long now) {
        for (long round = 0; round < slotCount + EVICTION_SAMPLE; round++) {
            long start = slab.advanceEvictionHand();
            int best = -1;
            long bestWord = 0;
            long bestAccess = 0;
            int window = Math.min(EVICTION_SAMPLE, slotCount);
            for (int j = 0; j < window; j++) {
                int slot = (int) Long.remainderUnsigned(start + j, slotCount);
                long w = slab.state(slot);
                switch (Slab.stateOf(w)) {
                    case Slab.FREE -> {
                        long ref = take(slot, w, now);
                        if (ref != HostTierIndex.NONE) {
                            slab.addUsed(1);
                            return ref;
                        }
                    }
                    case Slab.WRITING -> {
                        if (isStale(slot, w, now)) {
                            long ref = take(slot, w, now);
                            if (ref != HostTierIndex.NONE) {
                                slab.addReclaimedWrite();
                                return ref;
                            }
                        }
                    }
                    default -> {
                        long access = slab.lastAccess(slot);
                        if (best < 0 || access - bestAccess < 0) {
                            best = slot;
                            bestWord = w;
                            bestAccess = access;
                        }
                    }
                }
            }
            if (best >= 0) {
                // The identity is stable while the word still reads READY at this generation.
                long hi = slab.hashHi(best);
                long lo = slab.hashLo(best);
                long c = slab.compat(best);
                long ref = take(best, bestWord, now);
                if (ref != HostTierIndex.NONE) {
                    slab.addEviction();
                    index.removeIfEquals(hi, lo, c, HostTierIndex.ref(best, Slab.generationOf(bestWord)));
                    return ref;
                }
            }
        }
        return HostTierIndex.NONE;
    }

    /** CAS {@code slot} from {@code word} to WRITING by this process at the next generation. */
    private long take(int slot, long word, long now) {
        // Write-start goes in first so that no process sees this WRITING slot with an old start time.
        slab.setWriteStart(slot, now);
        long generation = Slab.nextGeneration(word);
        if (slab.casState(slot, word, Slab.word(generation, pid, Slab.WRITING))) {
            return HostTierIndex.ref(slot, generation);
        }
        return HostTierIndex.NONE;
    }

    /** A WRITING slot whose writer overran the timeout, or (one pid namespace only) whose writer is gone. */
    private boolean isStale(int slot, long word, long now) {
        if (now - slab.writeStart(slot) > staleWriteNs) {
            return true;
        }
        int writer = Slab.pidOf(word);
        if (writer == 0 || writer == pid || slab.mixedPidNamespaces()) {
            return false;
        }
        return ProcessHandle.of(writer).map(p -> !p.isAlive()).orElse(true);
    }

    // ---- get -------------------------------------------------------------------------------

    /**
     * Copies the block stored under {@code hash} for this handle's compatibility into the first
     * {@link #blockBytes()} bytes of {@code dst} and verifies its checksum; refreshes its last access.
     *
     * @return {@link GetResult#HIT}, {@link GetResult#MISS}, {@link GetResult#CORRUPT} (the entry is
     *         removed) or {@link GetResult#WRONG_SIZE}; after anything but HIT the contents of
     *         {@code dst} are unspecified
     */
    public GetResult get(BlockHash hash, MemorySegment dst) {
        if (dst.byteSize() < blockBytes) {
            return GetResult.WRONG_SIZE;
        }
        long hi = hash.hi();
        long lo = hash.lo();
        long ref = index.lookup(hi, lo, compat);
        if (ref == HostTierIndex.NONE) {
            misses.incrementAndGet();
            return GetResult.MISS;
        }
        int slot = HostTierIndex.slotOf(ref);
        long before = slab.state(slot);
        if (before != Slab.word(HostTierIndex.generationOf(ref), 0, Slab.READY)) {
            index.removeIfEquals(hi, lo, compat, ref); // stale: that generation is gone for good
            misses.incrementAndGet();
            return GetResult.MISS;
        }
        int length = slab.length(slot);
        long expected = slab.checksum(slot);
        boolean sameBlock = slab.hashHi(slot) == hi && slab.hashLo(slot) == lo && slab.compat(slot) == compat
                && length == blockBytes;
        slab.setLastAccess(slot, System.nanoTime());
        // The checksum is of the values loaded from the slot, which are exactly the ones stored to dst.
        long checksum = Xxh3Copy.copyAndHash(slab.segment(), slab.dataAt(slot), dst, 0, blockBytes);
        VarHandle.acquireFence();
        if (slab.state(slot) != before || !sameBlock) {
            misses.incrementAndGet();
            return GetResult.MISS;
        }
        if (checksum != expected) {
            if (slab.casState(slot, before, Slab.word(Slab.nextGeneration(before), 0, Slab.FREE))) {
                slab.addUsed(-1);
            }
            index.removeIfEquals(hi, lo, compat, ref);
            corrupt.incrementAndGet();
            return GetResult.CORRUPT;
        }
        hits.incrementAndGet();
        return GetResult.HIT;
    }

    // ---- lookups -----------------------------------------------------------------------------

    /** Whether a readable block is stored under {@code hash} for this handle's compatibility. No LRU refresh. */
    public boolean contains(BlockHash hash) {
        long ref = index.lookup(hash.hi(), hash.lo(), compat);
        return ref != HostTierIndex.NONE && liveness.isLive(ref);
    }

    /** Removes the block stored under {@code hash} for this handle's compatibility; true when there was one. */
    public boolean remove(BlockHash hash) {
        long hi = hash.hi();
        long lo = hash.lo();
        long ref = index.lookup(hi, lo, compat);
        if (ref == HostTierIndex.NONE) {
            return false;
        }
        int slot = HostTierIndex.slotOf(ref);
        long ready = Slab.word(HostTierIndex.generationOf(ref), 0, Slab.READY);
        boolean removed = slab.casState(slot, ready, Slab.word(Slab.nextGeneration(ready), 0, Slab.FREE));
        if (removed) {
            slab.addUsed(-1);
        }
        index.removeIfEquals(hi, lo, compat, ref);
        return removed;
    }

    /** Tier-wide figures from a scan of the slot table (O(slots)), plus this handle's counters. */
    public HostTierStats stats() {
        long ready = 0;
        long writing = 0;
        for (int slot = 0; slot < slotCount; slot++) {
            switch (Slab.stateOf(slab.state(slot))) {
                case Slab.READY -> ready++;
                case Slab.WRITING -> writing++;
                default -> { }
            }
        }
        return new HostTierStats(ready, ready * blockBytes, slotCount * blockBytes, slotCount, writing,
                slab.evictions(), slab.reclaimedWrites(), stored.get(), hits.get(), misses.get(), corrupt.get());
    }

    /** File offset of the bytes of the block under {@code hash}, or -1; for tests that damage a block. */
    long dataOffsetOf(BlockHash hash) {
        long ref = index.lookup(hash.hi(), hash.lo(), compat);
        return ref != HostTierIndex.NONE && liveness.isLive(ref) ? slab.dataAt(HostTierIndex.slotOf(ref)) : -1;
    }

    /** Unmaps the slab and closes the index; the files stay for the other processes. */
    @Override
    public void close() {
        index.close();
        arena.close();
    }
}
