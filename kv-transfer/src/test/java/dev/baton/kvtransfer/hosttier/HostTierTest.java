package dev.baton.kvtransfer.hosttier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostTierTest {

    private static final long BLOCK = 4096;
    private static final int SLOTS = 8;

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();
    private HostTier tier;
    private MemorySegment src;
    private MemorySegment dst;

    @BeforeEach
    void open() {
        tier = HostTier.open(Blocks.settings(dir, SLOTS, BLOCK));
        src = arena.allocate(BLOCK, 64);
        dst = arena.allocate(BLOCK, 64);
    }

    @AfterEach
    void close() {
        if (tier != null) {
            tier.close();
        }
        arena.close();
    }

    private PutResult put(HostTier t, BlockHash h) {
        Blocks.fill(src, h);
        return t.put(h, src);
    }

    @Test
    void shouldReturnTheBytesThatWerePut() {
        BlockHash h = Blocks.hash("a", 1);
        assertEquals(PutResult.STORED, put(tier, h));
        assertEquals(GetResult.HIT, tier.get(h, dst));
        assertTrue(Blocks.matches(dst, h));
        assertTrue(tier.contains(h));
        HostTierStats s = tier.stats();
        assertEquals(1, s.entries());
        assertEquals(BLOCK, s.bytes());
        assertEquals(1, s.stored());
        assertEquals(1, s.hits());
    }

    @Test
    void shouldMissAnUnknownHash() {
        assertEquals(GetResult.MISS, tier.get(Blocks.hash("a", 1), dst));
        assertFalse(tier.contains(Blocks.hash("a", 1)));
        assertEquals(1, tier.stats().misses());
    }

    @Test
    void shouldReportAlreadyPresentForASecondPut() {
        BlockHash h = Blocks.hash("a", 1);
        put(tier, h);
        assertEquals(PutResult.ALREADY_PRESENT, put(tier, h));
        assertEquals(1, tier.stats().entries());
    }

    @Test
    void shouldRefuseSourcesAndDestinationsOfTheWrongSize() {
        BlockHash h = Blocks.hash("a", 1);
        assertEquals(PutResult.WRONG_SIZE, tier.put(h, src.asSlice(0, BLOCK - 1)));
        put(tier, h);
        assertEquals(GetResult.WRONG_SIZE, tier.get(h, dst.asSlice(0, BLOCK - 8)));
    }

    @Test
    void shouldEvictTheLeastRecentlyUsedBlockWhenFull() {
        for (int i = 0; i < SLOTS; i++) {
            assertEquals(PutResult.STORED, put(tier, Blocks.hash("a", i)));
        }
        assertEquals(GetResult.HIT, tier.get(Blocks.hash("a", 0), dst)); // block 0 is now the most recent

        assertEquals(PutResult.STORED, put(tier, Blocks.hash("b", 0)));

        HostTierStats s = tier.stats();
        assertEquals(SLOTS, s.entries());
        assertEquals(1, s.evictions());
        assertTrue(tier.contains(Blocks.hash("a", 0)));
        assertFalse(tier.contains(Blocks.hash("a", 1)), "the least recently used block is evicted");
        assertTrue(tier.contains(Blocks.hash("b", 0)));
    }

    @Test
    void shouldStayWithinItsBoundUnderManyPuts() {
        for (int i = 0; i < 10 * SLOTS; i++) {
            assertEquals(PutResult.STORED, put(tier, Blocks.hash("a", i)));
        }
        HostTierStats s = tier.stats();
        assertEquals(SLOTS, s.entries());
        assertEquals(SLOTS * BLOCK, s.bytes());
        assertEquals(9 * SLOTS, s.evictions());
        for (int i = 9 * SLOTS; i < 10 * SLOTS; i++) {
            assertEquals(GetResult.HIT, tier.get(Blocks.hash("a", i), dst), "recent block " + i);
            assertTrue(Blocks.matches(dst, Blocks.hash("a", i)));
        }
    }

    @Test
    void shouldDetectDamagedBytesAndDropTheEntry() throws IOException {
        BlockHash h = Blocks.hash("a", 1);
        put(tier, h);
        long at = tier.dataOffsetOf(h);
        try (Arena a = Arena.ofConfined();
                FileChannel ch = FileChannel.open(tier.settings().slabFile(), StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size(), a);
            file.set(ValueLayout.JAVA_BYTE, at + 100, (byte) (file.get(ValueLayout.JAVA_BYTE, at + 100) ^ 1));
        }
        assertEquals(GetResult.CORRUPT, tier.get(h, dst));
        assertEquals(GetResult.MISS, tier.get(h, dst));
        assertEquals(1, tier.stats().corrupt());
        assertEquals(0, tier.stats().entries());
    }

    @Test
    void shouldNeverReturnBlocksOfAnotherCompatibility() {
        KvCompatibility other = new KvCompatibility(Blocks.COMPAT.model(), "F16", 16, Blocks.COMPAT.layout(), 2, 2, 32,
                KvCompatibility.PROTOCOL_VERSION);
        HostTierSettings s = tier.settings();
        BlockHash h = Blocks.hash("a", 1);
        put(tier, h);
        try (HostTier f16 = HostTier.open(new HostTierSettings(s.directory(), s.name(), s.capacityBytes(),
                s.blockBytes(), other, s.staleWriteTimeoutNs()))) {
            assertFalse(f16.contains(h));
            assertEquals(GetResult.MISS, f16.get(h, dst));

            BlockHash decoy = Blocks.hash("decoy", 1);
            Blocks.fill(src, decoy);
            assertEquals(PutResult.STORED, f16.put(h, src));
            assertEquals(GetResult.HIT, f16.get(h, dst));
            assertTrue(Blocks.matches(dst, decoy));
        }
        assertEquals(GetResult.HIT, tier.get(h, dst));
        assertTrue(Blocks.matches(dst, h));
    }

    @Test
    void shouldRefuseToOpenATierOfAnotherShape() {
        HostTierException e = assertThrows(HostTierException.class,
                () -> HostTier.open(Blocks.settings(dir, SLOTS * 2, BLOCK)));
        assertTrue(e.getMessage().contains("every process must use the same capacity"), e.getMessage());
    }

    @Test
    void shouldRefuseTheFilesOfAnotherLayoutVersionNamingThem() throws IOException {
        HostTierSettings settings = Blocks.settings(dir, SLOTS, BLOCK);
        tier.close();
        tier = null;
        try (FileChannel ch = FileChannel.open(settings.slabFile(), StandardOpenOption.WRITE)) {
            ByteBuffer version = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0, 1);
            ch.write(version, 8); // the header's layout version: 1, the CRC32C layout
        }
        HostTierException e = assertThrows(HostTierException.class, () -> HostTier.open(settings));
        assertTrue(e.getMessage().contains("layout version 1") && e.getMessage().contains(settings.slabFile().toString())
                && e.getMessage().contains("delete its files"), e.getMessage());
    }

    @Test
    void shouldKeepBlocksAcrossReopening() {
        BlockHash h = Blocks.hash("a", 1);
        put(tier, h);
        tier.close();
        tier = HostTier.open(Blocks.settings(dir, SLOTS, BLOCK));
        assertEquals(GetResult.HIT, tier.get(h, dst));
        assertTrue(Blocks.matches(dst, h));
    }

    @Test
    void shouldRemoveABlock() {
        BlockHash h = Blocks.hash("a", 1);
        put(tier, h);
        assertTrue(tier.remove(h));
        assertFalse(tier.remove(h));
        assertEquals(GetResult.MISS, tier.get(h, dst));
        assertEquals(0, tier.stats().entries());
        for (int i = 0; i < SLOTS; i++) {
            put(tier, Blocks.hash("b", i));
        }
        assertEquals(0, tier.stats().evictions(), "the removed block's slot is reused before anything is evicted");
    }

    @Test
    void shouldCommitABlockWrittenInPlace() {
        BlockHash h = Blocks.hash("a", 1);
        HostTierClaim claim = new HostTierClaim();
        assertEquals(PutResult.CLAIMED, tier.tryClaim(h, claim));
        assertFalse(tier.contains(h), "a block being written is invisible");
        Blocks.fill(claim.buffer(), h);
        assertEquals(PutResult.STORED, claim.commit());
        assertFalse(claim.isHeld());
        assertEquals(GetResult.HIT, tier.get(h, dst));
        assertTrue(Blocks.matches(dst, h));
        assertEquals(PutResult.ALREADY_PRESENT, tier.tryClaim(h, claim));
    }

    @Test
    void shouldFreeTheSlotOfAnAbortedClaim() {
        HostTierClaim claim = new HostTierClaim();
        assertEquals(PutResult.CLAIMED, tier.tryClaim(Blocks.hash("a", 1), claim));
        assertTrue(claim.abort());
        assertEquals(0, tier.stats().writing());
        assertFalse(tier.contains(Blocks.hash("a", 1)));
        for (int i = 0; i < SLOTS; i++) {
            put(tier, Blocks.hash("b", i));
        }
        assertEquals(0, tier.stats().evictions());
    }

    @Test
    void shouldTakeBackAWriteHeldPastTheTimeout() throws InterruptedException {
        tier.close();
        tier = HostTier.open(Blocks.settings(dir, SLOTS, BLOCK).withStaleWriteTimeoutNs(TimeUnit.MILLISECONDS.toNanos(20)));
        HostTierClaim claim = new HostTierClaim();
        assertEquals(PutResult.CLAIMED, tier.tryClaim(Blocks.hash("slow", 1), claim));
        Thread.sleep(50);
        for (int i = 0; i < SLOTS; i++) {
            assertEquals(PutResult.STORED, put(tier, Blocks.hash("b", i)));
        }
        HostTierStats s = tier.stats();
        assertEquals(1, s.reclaimedWrites());
        assertEquals(SLOTS, s.entries());
        assertEquals(0, s.evictions());
        assertEquals(PutResult.EXPIRED, claim.commit());
        assertFalse(tier.contains(Blocks.hash("slow", 1)));
    }

    @Test
    void shouldAnswerNoSpaceWhenEverySlotIsBeingWritten() {
        List<HostTierClaim> claims = new ArrayList<>();
        for (int i = 0; i < SLOTS; i++) {
            HostTierClaim c = new HostTierClaim();
            assertEquals(PutResult.CLAIMED, tier.tryClaim(Blocks.hash("a", i), c));
            claims.add(c);
        }
        assertEquals(PutResult.NO_SPACE, put(tier, Blocks.hash("b", 0)));
        claims.forEach(HostTierClaim::abort);
        assertEquals(PutResult.STORED, put(tier, Blocks.hash("b", 0)));
    }

    @Test
    void shouldMatchTheLongestPresentPrefix() {
        List<BlockHash> chain = List.of(Blocks.hash("c", 0), Blocks.hash("c", 1), Blocks.hash("c", 2), Blocks.hash("c", 3));
        put(tier, chain.get(0));
        put(tier, chain.get(1));
        put(tier, chain.get(3));
        HostPrefixIndex prefix = tier.prefixIndex();
        assertEquals(2, prefix.matchedPrefix(chain));
        assertTrue(prefix.contains(chain.get(3)));
        assertFalse(prefix.contains(chain.get(2)));
        assertEquals(0, prefix.matchedPrefix(List.of(Blocks.hash("c", 2))));
    }

    @Test
    void shouldServeConcurrentWritersAndReadersWithoutTornBlocks() throws Exception {
        int threads = 3;
        int perThread = 400;
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        long[] hitsSeen = new long[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment s = a.allocate(BLOCK, 64);
                    MemorySegment d = a.allocate(BLOCK, 64);
                    for (int i = 0; i < perThread; i++) {
                        BlockHash mine = Blocks.hash("w" + id, i);
                        Blocks.fill(s, mine);
                        tier.put(mine, s);
                        BlockHash any = Blocks.hash("w" + (i % threads), Math.max(0, i - 1));
                        if (tier.get(any, d) == GetResult.HIT) {
                            hitsSeen[id]++;
                            if (!Blocks.matches(d, any)) {
                                throw new AssertionError("torn or foreign bytes for " + any);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(List.of(), failures);
        assertNotEquals(0, hitsSeen[0] + hitsSeen[1] + hitsSeen[2]);
        assertEquals(0, tier.stats().corrupt());
        assertEquals(SLOTS, tier.stats().entries());
    }
}
