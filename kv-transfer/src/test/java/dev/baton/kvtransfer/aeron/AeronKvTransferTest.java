package dev.baton.kvtransfer.aeron;

import static dev.baton.kvtransfer.aeron.Fixtures.compat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.TransferId;
import dev.baton.common.sbe.AckDecoder;
import dev.baton.common.sbe.AckStatus;
import dev.baton.common.sbe.BeginEncoder;
import dev.baton.common.sbe.BlockEncoder;
import dev.baton.common.sbe.BlockRefEncoder;
import dev.baton.common.sbe.EndEncoder;
import dev.baton.common.sbe.FailureCode;
import dev.baton.common.sbe.MessageHeaderDecoder;
import dev.baton.common.sbe.MessageHeaderEncoder;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransferMetrics.DropReason;
import dev.baton.kvtransfer.SendResult;
import dev.baton.kvtransfer.SharedRegion;
import dev.baton.kvtransfer.aeron.Fixtures.Received;
import dev.baton.kvtransfer.aeron.Fixtures.RecordingReceiver;
import dev.baton.kvtransfer.aeron.Fixtures.RecordingSender;
import dev.baton.kvtransfer.aeron.Fixtures.Sent;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Transfers between a sender and a receiver in one JVM (the process-boundary cases are in {@link TwoProcessTransferTest}). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AeronKvTransferTest {

    private static final long SEED = 42;
    private static final int LAYERS = 4;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String> dirs = new ArrayList<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        dirs.forEach(Fixtures::deleteQuietly);
        arena.close();
    }

    private AeronKvTransport ipcTransport() {
        String dir = Fixtures.aeronDir("ipc");
        dirs.add(dir);
        AeronKvTransport t = AeronKvTransport.launch(Fixtures.settings(dir, "aeron:ipc", 11, "aeron:ipc", 12), registry);
        toClose.add(t);
        return t;
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(c);
        return c;
    }

    private AgentRunner run(AeronKvTransport transport, KvReceiver receiver) {
        return closeLater(transport.startOnThread(receiver));
    }

    private static long deadline(long ms) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    private static Sent awaitSent(KvSender sender, RecordingSender listener, long timeoutMs) {
        long end = deadline(timeoutMs);
        while (System.nanoTime() - end < 0) {
            sender.doWork();
            Sent s = listener.endings.poll();
            if (s != null) {
                return s;
            }
            Thread.onSpinWait();
        }
        return null;
    }

    private void assertVerified(Received r, int blockBytes) {
        MemorySegment scratch = arena.allocate(blockBytes);
        for (int i = 0; i < r.blocks().length; i++) {
            assertTrue(r.complete()[i], "block " + i + " complete");
            assertTrue(Fixtures.matches(r.blocks()[i], blockBytes, SEED, r.id(), i, scratch), "block " + i + " content");
            assertEquals(Fixtures.hash(r.id(), i), new BlockHash(r.hashHi()[i], r.hashLo()[i]));
            assertEquals(i * 16, r.positions()[i]);
        }
    }

    @Test
    void shouldLetTheReceiverCopyBlocksFromTheSendersRegionOnceItMapsIt() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        int blockBytes = LAYERS * 50_000;
        int blocks = 20;
        SharedRegion region = closeLater(SharedRegion.create("test-region", 2L * blocks * blockBytes));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl, region));
        long bytes = (long) blocks * blockBytes;
        for (int t = 0; t < 2; t++) {
            MemorySegment source = region.segment().asSlice(t * bytes, bytes);
            assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 30 + t,
                    blocks, blockBytes, deadline(10_000), source, Integer.MAX_VALUE));
            Sent sent = awaitSent(sender, sl, 10_000);
            assertNotNull(sent);
            assertEquals("complete", sent.kind(), sent.reason());
            Received got = rl.next(10, TimeUnit.SECONDS);
            assertEquals("complete", got.kind(), got.reason());
            assertVerified(got, blockBytes);
            got.arena().close();
            // the first transfer names the region and carries its bytes; the second is copied from the region
            assertEquals(t == 0 ? 0 : bytes, transport.receiveMetrics().pulledBytes(), "after transfer " + t);
        }
        assertEquals(2 * bytes, (long) registry.get("baton.kv.transfer.bytes").tag("direction", "receive").counter().count());
    }

    @Test
    void shouldFailAPartTheSenderChangedBeforeTheReceiverCopiedIt() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        KvReceiver receiver = closeLater(transport.newReceiver(compat(LAYERS), rl));
        int blockBytes = LAYERS * 1024;
        int blocks = 4;
        long bytes = (long) blocks * blockBytes;
        SharedRegion region = closeLater(SharedRegion.create("test-region", bytes));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl, region));
        // the receiver's duty cycle runs here, after the sender's calls, so the order is fixed
        Thread pump = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                receiver.doWork();
            }
        });
        pump.start();
        try {
            assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 40,
                    blocks, blockBytes, deadline(10_000), region.segment(), Integer.MAX_VALUE));
            assertEquals("complete", awaitSent(sender, sl, 10_000).kind());
            rl.next(10, TimeUnit.SECONDS).arena().close();
        } finally {
            pump.interrupt();
            pump.join();
        }
        assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 41,
                blocks, blockBytes, deadline(10_000), region.segment(), Integer.MAX_VALUE));
        region.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, blockBytes + 5, (byte) 0x5a); // block 1, too early
        long end = deadline(10_000);
        Sent sent = null;
        while (sent == null && System.nanoTime() - end < 0) {
            receiver.doWork();
            sender.doWork();
            sent = sl.endings.poll();
        }
        assertNotNull(sent);
        assertEquals(KvFailure.CRC_MISMATCH, sent.failure(), sent.reason());
        Received got = rl.next(10, TimeUnit.SECONDS);
        assertEquals(KvFailure.CRC_MISMATCH, got.failure());
        assertTrue(got.reason().contains("block 1") && got.reason().contains("changed the block"), got.reason());
        assertTrue(got.complete()[0], "the block before it arrived");
        assertTrue(!got.complete()[1], "the changed block is not complete");
        assertEquals(blockBytes, transport.receiveMetrics().pulledBytes(), "the first transfer carried bytes; block 0 only was pulled");
        got.arena().close();
    }

    @Test
    void shouldMoveBlocksOverIpcAndReportCompletionOnBothSides() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        int blockBytes = LAYERS * 50_000; // 200,000 bytes: four chunks a block
        MemorySegment source = arena.allocate(blockBytes);

        SendResult r = Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 7, 20, blockBytes,
                deadline(10_000), source, Integer.MAX_VALUE);

        assertEquals(SendResult.OK, r);
        Sent sent = awaitSent(sender, sl, 10_000);
        assertNotNull(sent);
        assertEquals("complete", sent.kind());
        Received got = rl.next(10, TimeUnit.SECONDS);
        assertEquals("complete", got.kind());
        assertVerified(got, blockBytes);
        assertEquals(0, sender.inFlight());
        assertEquals(20L * blockBytes, (long) registry.get("baton.kv.transfer.bytes").tag("direction", "receive").counter().count());
        got.arena().close();
    }

    @Test
    void shouldAllocateNothingPerFrameOnTheSendPath() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        int blockBytes = LAYERS * 50_000; // four chunks a block
        int blocks = 600;
        MemorySegment source = arena.allocate(blockBytes, 64);
        Fixtures.fill(source, SEED, 1, 0);
        TransferId id = new TransferId(51);
        BlockHash hash = new BlockHash(1, 2);
        assertEquals(SendResult.OK, Fixtures.retry(sender, () -> sender.begin(id, compat(LAYERS), transport.destination(), 0, blocks,
                blockBytes, deadline(30_000)), TimeUnit.SECONDS.toNanos(10)));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        long before = 0;
        for (int i = 0; i < blocks; i++) {
            if (i == blocks / 2) {
                before = threads.getThreadAllocatedBytes(thread);
            }
            SendResult r;
            while ((r = sender.offerBlock(id, i, hash, i * 16, 0, LAYERS, source)) != SendResult.OK) {
                assertEquals(SendResult.BACK_PRESSURED, r);
                sender.doWork();
            }
            sender.doWork();
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before;
        assertEquals(SendResult.OK, Fixtures.retry(sender, () -> sender.end(id), TimeUnit.SECONDS.toNanos(10)));
        assertEquals("complete", awaitSent(sender, sl, 20_000).kind());
        assertTrue(allocated < 1024, allocated + " bytes allocated for " + blocks / 2 * 4 + " frames");
        rl.next(10, TimeUnit.SECONDS).arena().close();
    }

    @Test
    void shouldCloseThePublicationsToAPeerNoTransferUsedForThePeerIdleTimeout() throws Exception {
        String dir = Fixtures.aeronDir("idle");
        dirs.add(dir);
        long idleNs = TimeUnit.MILLISECONDS.toNanos(1500);
        AeronKvTransport transport = closeLater(AeronKvTransport.launch(Fixtures.settings(dir, "aeron:ipc", 31, "aeron:ipc", 32)
                .withPeerIdleTimeoutNs(idleNs), registry));
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        int blockBytes = LAYERS * 1024;
        MemorySegment source = arena.allocate(blockBytes);
        assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 61, 2,
                blockBytes, deadline(1_000), source, Integer.MAX_VALUE));
        assertEquals("complete", awaitSent(sender, sl, 10_000).kind());
        rl.next(10, TimeUnit.SECONDS).arena().close();
        java.util.function.ToDoubleFunction<String> open = direction -> registry.get("baton.kv.transfer.publications")
                .tag("direction", direction).gauge().value();
        assertEquals(1.0, open.applyAsDouble("send"), "the sender's publication to the receiver");
        assertEquals(1.0, open.applyAsDouble("receive"), "the receiver's publication to the sender's reply channel");

        // no transfer for longer than peer-idle-timeout: both sides close their publication to the other
        long end = deadline(15_000);
        while ((open.applyAsDouble("send") > 0 || open.applyAsDouble("receive") > 0) && System.nanoTime() - end < 0) {
            sender.doWork();
            Thread.sleep(5);
        }
        assertEquals(0.0, open.applyAsDouble("send"), "an idle peer's publication is closed");
        assertEquals(0.0, open.applyAsDouble("receive"), "an idle reply publication is closed");

        // the next transfer opens a new one and completes
        assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 62, 2,
                blockBytes, deadline(1_000), source, Integer.MAX_VALUE));
        assertEquals("complete", awaitSent(sender, sl, 10_000).kind());
        Received again = rl.next(10, TimeUnit.SECONDS);
        assertVerified(again, blockBytes);
        again.arena().close();
        assertEquals(1.0, open.applyAsDouble("send"));
    }

    @Test
    void shouldRefuseMismatchedTupleAtBeginAndReportTheReasonToTheSender() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        KvCompatibility other = new KvCompatibility(Fixtures.MODEL, "F32", 32, "kv-head-position-dim", LAYERS, 4, 64,
                KvCompatibility.PROTOCOL_VERSION);
        int blockBytes = LAYERS * 1024;

        SendResult r = Fixtures.sendTransfer(sender, other, transport.destination(), SEED, 9, 2, blockBytes, deadline(10_000),
                arena.allocate(blockBytes), Integer.MAX_VALUE);

        // the refusal may overtake the sending (the sender's duty cycle then ends the transfer early)
        assertTrue(r == SendResult.OK || r == SendResult.UNKNOWN_TRANSFER, "sent whole or refused first: " + r);
        Sent sent = awaitSent(sender, sl, 10_000);
        assertNotNull(sent);
        assertEquals(KvFailure.REFUSED, sent.failure());
        assertTrue(sent.reason().contains("block size 32 (expected 16)"), sent.reason());
        assertTrue(sent.reason().contains("KV dtype F32 (expected F16)"), sent.reason());
        assertEquals(0, rl.begins, "the listener is never asked for destination blocks");
        assertNull(rl.next(100, TimeUnit.MILLISECONDS));
        assertEquals(1, transport.receiveMetrics().failedCount(KvFailure.REFUSED));
        if (r == SendResult.OK) {
            assertTrue(transport.receiveMetrics().droppedCount(DropReason.REFUSED) >= 3,
                    "block and end frames after the refusal are dropped");
        }
    }

    @Test
    void shouldFailTheTransferAtTheDeadlineWhenTheSenderStallsAndReturnEveryBlock() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        int blockBytes = LAYERS * 4096;

        SendResult r = Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 11, 8, blockBytes,
                deadline(500), arena.allocate(blockBytes), 4);

        assertEquals(SendResult.OK, r);
        Received got = rl.next(10, TimeUnit.SECONDS);
        assertEquals(KvFailure.DEADLINE, got.failure());
        assertArrayEquals(rl.handedOut.get(11L), got.blocks(), "the same destination blocks come back");
        Sent sent = awaitSent(sender, sl, 5_000);
        assertEquals(KvFailure.DEADLINE, sent.failure());
        assertEquals(0, sender.inFlight());
        got.arena().close();
    }

    @Test
    void shouldCancelFromEitherSideAndReturnTheBlocks() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        KvReceiver receiver = transport.newReceiver(compat(LAYERS), rl);
        run(transport, receiver);
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        int blockBytes = LAYERS * 4096;
        MemorySegment source = arena.allocate(blockBytes);

        Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 21, 4, blockBytes, deadline(10_000), source, 2);
        assertEquals(SendResult.OK, sender.cancel(new TransferId(21), "client went away"));
        Received bySender = rl.next(10, TimeUnit.SECONDS);
        assertEquals("cancelled", bySender.kind());
        assertTrue(bySender.reason().contains("client went away"), bySender.reason());
        assertEquals(4, bySender.blocks().length);

        Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 22, 4, blockBytes, deadline(10_000), source, 2);
        while (rl.begins < 2) {
            Thread.onSpinWait();
        }
        assertTrue(receiver.cancel(new TransferId(22)));
        Received byReceiver = rl.next(10, TimeUnit.SECONDS);
        assertEquals("cancelled", byReceiver.kind());
        Sent sent = awaitSent(sender, sl, 10_000);
        assertEquals("cancelled", sent.kind());
        assertEquals(22, sent.id());
        bySender.arena().close();
        byReceiver.arena().close();
    }

    @Test
    void shouldInterleaveTransfersFromManySendersOnOneReceiver() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        int senders = 4;
        int transfersEach = 3;
        int blocks = 6;
        int blockBytes = LAYERS * 30_000;
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        // Each sender interleaves its own transfers block by block; the senders run concurrently.
        for (int s = 0; s < senders; s++) {
            int base = 100 + s * 10;
            Thread th = new Thread(() -> {
                RecordingSender sl = new RecordingSender();
                try (KvSender sender = transport.newSender(sl); Arena a = Arena.ofConfined()) {
                    MemorySegment block = a.allocate(blockBytes);
                    for (int k = 0; k < transfersEach; k++) {
                        long id = baseId(base, k);
                        SendResult r = Fixtures.retry(sender, () -> sender.begin(new TransferId(id), compat(LAYERS),
                                transport.destination(), id, blocks, blockBytes, deadline(20_000)), TimeUnit.SECONDS.toNanos(10));
                        assertEquals(SendResult.OK, r);
                    }
                    for (int i = 0; i < blocks; i++) {
                        for (int k = 0; k < transfersEach; k++) {
                            long id = baseId(base, k);
                            Fixtures.fill(block, SEED, id, i);
                            int index = i;
                            SendResult r = Fixtures.retry(sender, () -> sender.offerBlock(new TransferId(id), index,
                                    Fixtures.hash(id, index), index * 16, 0, LAYERS, block), TimeUnit.SECONDS.toNanos(10));
                            assertEquals(SendResult.OK, r);
                        }
                    }
                    for (int k = 0; k < transfersEach; k++) {
                        long id = baseId(base, k);
                        assertEquals(SendResult.OK, Fixtures.retry(sender, () -> sender.end(new TransferId(id)),
                                TimeUnit.SECONDS.toNanos(10)));
                    }
                    int done = 0;
                    long end = deadline(20_000);
                    while (done < transfersEach && System.nanoTime() - end < 0) {
                        sender.doWork();
                        Sent sent = sl.endings.poll();
                        if (sent != null) {
                            assertEquals("complete", sent.kind(), sent.toString());
                            done++;
                        }
                    }
                    assertEquals(transfersEach, done);
                } catch (Throwable t) {
                    error.compareAndSet(null, t);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join(30_000);
        }
        assertNull(error.get(), () -> String.valueOf(error.get()));
        for (int i = 0; i < senders * transfersEach; i++) {
            Received got = rl.next(10, TimeUnit.SECONDS);
            assertEquals("complete", got.kind());
            assertVerified(got, blockBytes);
            got.arena().close();
        }
    }

    private static long baseId(int base, int k) {
        return base + k;
    }

    @Test
    void shouldFailACorruptedFrameByCrcAndNeverCompleteIt() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        try (RawPeer raw = new RawPeer(transport)) {
            int blockBytes = LAYERS * 1000;
            raw.begin(31, 2, blockBytes);
            MemorySegment good = arena.allocate(blockBytes);
            Fixtures.fill(good, SEED, 31, 0);
            raw.block(31, 0, good, crc(good), false);
            MemorySegment bad = arena.allocate(blockBytes);
            Fixtures.fill(bad, SEED, 31, 1);
            raw.block(31, 1, bad, crc(bad), true); // one byte flipped after the CRC was taken
            raw.end(31, 2);

            Received got = rl.next(10, TimeUnit.SECONDS);
            assertEquals(KvFailure.CRC_MISMATCH, got.failure());
            assertTrue(got.reason().contains("block 1"), got.reason());
            assertSame(rl.handedOut.get(31L), got.blocks());
            assertNull(rl.next(200, TimeUnit.MILLISECONDS), "no completion follows");
            AckDecoder ack = raw.awaitAck(10_000);
            assertEquals(AckStatus.FAILED, ack.status());
            assertEquals(FailureCode.CRC_MISMATCH, ack.failure());
            assertTrue(transport.receiveMetrics().droppedCount(DropReason.LATE) >= 1, "the end frame after the failure is dropped");
            got.arena().close();
        }
    }

    @Test
    void shouldRefuseAPullFromARegionItCannotMapAndNameIt() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        try (RawPeer raw = new RawPeer(transport)) {
            long pid = ProcessHandle.current().pid();
            raw.begin(51, 1, LAYERS * 1000, pid, 1, 12345, 1 << 20, true); // fd 1 is no region of ours
            AckDecoder ack = raw.awaitAck(10_000);
            assertEquals(AckStatus.REFUSED, ack.status());
            assertEquals(0, ack.regionMapped());
            String reason = ack.reason();
            assertTrue(reason.contains("cannot copy from the sender's shared region") && reason.contains("/proc/" + pid + "/fd/1"),
                    reason);
            assertEquals(0, rl.begins, "nothing was handed out for a refused transfer");
        }
    }

    @Test
    void shouldFailABlockReferenceOutsideTheSendersRegion() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        int blockBytes = LAYERS * 1024;
        try (RawPeer raw = new RawPeer(transport); SharedRegion region = SharedRegion.create("raw-region", 4L * blockBytes)) {
            raw.begin(52, 2, blockBytes, region.pid(), region.fd(), region.token(), region.byteSize(), true);
            MemorySegment b0 = region.segment().asSlice(0, blockBytes);
            Fixtures.fill(b0, SEED, 52, 0);
            raw.blockRef(52, 0, blockBytes, 0, crc(b0));
            raw.blockRef(52, 1, blockBytes, 3L * blockBytes + 8, 0); // runs 8 bytes past the region's end
            AckDecoder ack = raw.awaitAck(10_000);
            assertEquals(AckStatus.FAILED, ack.status());
            assertEquals(FailureCode.PROTOCOL, ack.failure());
            assertEquals(1, ack.regionMapped());
            String reason = ack.reason(); // variable-length: read once
            assertTrue(reason.contains("lies outside the sender's region"), reason);
            Received got = rl.next(10, TimeUnit.SECONDS);
            assertEquals(KvFailure.PROTOCOL, got.failure());
            assertTrue(got.complete()[0] && !got.complete()[1], "block 0 was copied, block 1 never");
            got.arena().close();
        }
    }

    @Test
    void shouldDropAndCountLateDuplicateAndUnknownFrames() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        try (RawPeer raw = new RawPeer(transport)) {
            int blockBytes = LAYERS * 1000;
            MemorySegment b = arena.allocate(blockBytes);
            Fixtures.fill(b, SEED, 41, 0);
            raw.begin(41, 1, blockBytes);
            raw.block(41, 0, b, crc(b), false);
            raw.end(41, 1);
            Received got = rl.next(10, TimeUnit.SECONDS);
            assertEquals("complete", got.kind());
            assertEquals(AckStatus.COMPLETED, raw.awaitAck(10_000).status());

            raw.block(41, 0, b, crc(b), false); // duplicate of a finished transfer
            raw.begin(41, 1, blockBytes);       // late begin of the same id
            raw.block(4242, 0, b, crc(b), false); // never begun
            long end = deadline(10_000);
            while ((transport.receiveMetrics().droppedCount(DropReason.LATE) < 2
                    || transport.receiveMetrics().droppedCount(DropReason.UNKNOWN) < 1) && System.nanoTime() - end < 0) {
                Thread.sleep(5);
            }
            assertEquals(2, transport.receiveMetrics().droppedCount(DropReason.LATE));
            assertEquals(1, transport.receiveMetrics().droppedCount(DropReason.UNKNOWN));
            assertNull(rl.next(100, TimeUnit.MILLISECONDS));
            assertEquals(1, rl.begins);
            got.arena().close();
        }
    }

    @Test
    void shouldDropAndCountFramesFromASenderThatDidNotBeginTheTransfer() throws Exception {
        AeronKvTransport transport = ipcTransport();
        RecordingReceiver rl = new RecordingReceiver();
        run(transport, transport.newReceiver(compat(LAYERS), rl));
        try (RawPeer owner = new RawPeer(transport); RawPeer intruder = new RawPeer(transport)) {
            int blockBytes = LAYERS * 1000;
            MemorySegment genuine = arena.allocate(blockBytes);
            Fixtures.fill(genuine, SEED, 51, 0);
            MemorySegment forged = arena.allocate(blockBytes);
            forged.fill((byte) 0x5A);
            owner.begin(51, 1, blockBytes);
            long end = deadline(10_000);
            while (rl.begins < 1 && System.nanoTime() - end < 0) {
                Thread.sleep(5);
            }
            assertEquals(1, rl.begins, "the owner's begin was accepted");

            // A second publication (another Aeron session) names the transfer in flight without a Begin of its own.
            intruder.block(51, 0, forged, crc(forged), false);
            intruder.end(51, 1);
            end = deadline(10_000);
            while (transport.receiveMetrics().droppedCount(DropReason.WRONG_SESSION) < 2 && System.nanoTime() - end < 0) {
                Thread.sleep(5);
            }
            assertEquals(2, transport.receiveMetrics().droppedCount(DropReason.WRONG_SESSION));
            assertNull(rl.next(200, TimeUnit.MILLISECONDS), "the intruder's end completes nothing");

            owner.block(51, 0, genuine, crc(genuine), false);
            owner.end(51, 1);
            Received got = rl.next(10, TimeUnit.SECONDS);
            assertNotNull(got);
            assertEquals("complete", got.kind());
            assertTrue(Fixtures.matches(got.blocks()[0], blockBytes, SEED, 51, 0, arena.allocate(blockBytes)),
                    "the forged bytes never reached the destination block");
            assertEquals(AckStatus.COMPLETED, owner.awaitAck(10_000).status());
            assertEquals(2, transport.receiveMetrics().droppedCount(DropReason.WRONG_SESSION));
            got.arena().close();
        }
    }

    @Test
    void shouldCompleteAndVerifyTransfersOverUdpWithPacketLoss() throws Exception {
        int dataPort = Fixtures.freeUdpPort();
        int replyPort = Fixtures.freeUdpPort();
        String recvDir = Fixtures.aeronDir("loss-recv");
        String sendDir = Fixtures.aeronDir("loss-send");
        dirs.add(recvDir);
        dirs.add(sendDir);
        AeronKvTransport receiving = closeLater(AeronKvTransport.launch(Fixtures.settings(recvDir, Fixtures.udp(dataPort), 11,
                Fixtures.udp(replyPort), 12).withDebugReceiveLoss(0.05, 7), registry));
        AeronKvTransport sending = closeLater(AeronKvTransport.launch(Fixtures.settings(sendDir, Fixtures.udp(dataPort), 11,
                Fixtures.udp(replyPort), 12).withDebugReceiveLoss(0.05, 8), new SimpleMeterRegistry()));
        RecordingReceiver rl = new RecordingReceiver();
        run(receiving, receiving.newReceiver(compat(LAYERS), rl));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(sending.newSender(sl));
        int blockBytes = LAYERS * 40_000;
        MemorySegment source = arena.allocate(blockBytes);
        KvDestination dest = receiving.destination();

        for (long t = 1; t <= 5; t++) {
            assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), dest, SEED, t, 20, blockBytes,
                    deadline(30_000), source, Integer.MAX_VALUE));
        }
        for (int i = 0; i < 5; i++) {
            Sent s = awaitSent(sender, sl, 30_000);
            assertNotNull(s);
            assertEquals("complete", s.kind(), s.toString());
        }
        for (int i = 0; i < 5; i++) {
            Received got = rl.next(10, TimeUnit.SECONDS);
            assertEquals("complete", got.kind());
            assertVerified(got, blockBytes);
            got.arena().close();
        }
    }

    static int crc(MemorySegment s) {
        CRC32C c = new CRC32C();
        c.update(s.asByteBuffer());
        return (int) c.getValue();
    }

    /** A hand-written peer: frames straight from the SBE encoders, to inject what a real sender never sends. */
    private static final class RawPeer implements AutoCloseable {
        private final Aeron aeron;
        private final ExclusivePublication pub;
        private final Subscription replies;
        private final UnsafeBuffer buf = new UnsafeBuffer(ByteBuffer.allocateDirect(1 << 16));
        private final MessageHeaderEncoder header = new MessageHeaderEncoder();
        private final AckDecoder ack = new AckDecoder();
        private final AeronTransportSettings s;

        RawPeer(AeronKvTransport transport) {
            s = transport.settings();
            aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(s.aeronDirectory()));
            pub = aeron.addExclusivePublication(s.publicationChannel(s.channel()), s.streamId());
            replies = aeron.addSubscription("aeron:ipc", 77);
            long end = deadline(10_000);
            while (!pub.isConnected() && System.nanoTime() - end < 0) {
                Thread.onSpinWait();
            }
        }

        private void send(int length) {
            long end = deadline(10_000);
            while (pub.offer(buf, 0, length) < 0) {
                assertTrue(System.nanoTime() - end < 0, "offer timed out");
                Thread.onSpinWait();
            }
        }

        void begin(long id, int blocks, int blockBytes) {
            begin(id, blocks, blockBytes, 0, 0, 0, 0, false);
        }

        /** A Begin naming a shared region ({@code pid}, {@code fd}, {@code token}, {@code bytes}), asking to pull when {@code pull}. */
        void begin(long id, int blocks, int blockBytes, long pid, int fd, long token, long bytes, boolean pull) {
            KvCompatibility c = compat(LAYERS);
            BeginEncoder e = new BeginEncoder().wrapAndApplyHeader(buf, 0, header).transferId(id).destinationTag(id)
                    .timeoutNs(TimeUnit.SECONDS.toNanos(20)).modelFingerprintHi(c.model().hi()).modelFingerprintLo(c.model().lo())
                    .blockCount(blocks).blockBytes(blockBytes).blockSize(c.blockSize()).layerCount(c.layerCount())
                    .kvHeadCount(c.kvHeadCount()).headDim(c.headDim()).kvProtocolVersion(c.protocolVersion())
                    .replyStreamId(77).regionPid(pid).regionFd(fd).regionToken(token).regionBytes(bytes)
                    .pull((short) (pull ? 1 : 0)).dtype(c.dtype()).layout(c.layout()).replyChannel("aeron:ipc");
            send(MessageHeaderEncoder.ENCODED_LENGTH + e.encodedLength());
        }

        void blockRef(long id, int index, int partBytes, long regionOffset, int crc) {
            BlockRefEncoder e = new BlockRefEncoder().wrapAndApplyHeader(buf, 0, header).transferId(id).blockHashHi(id)
                    .blockHashLo(index).blockIndex(index).firstPosition(index * 16).layerStart(0).layerCount(LAYERS)
                    .partBytes(partBytes).crc32c(crc).regionOffset(regionOffset);
            send(MessageHeaderEncoder.ENCODED_LENGTH + e.encodedLength());
        }

        void block(long id, int index, MemorySegment bytes, int crc, boolean corrupt) {
            UnsafeBuffer src = new UnsafeBuffer(bytes.address(), (int) bytes.byteSize());
            BlockEncoder e = new BlockEncoder().wrapAndApplyHeader(buf, 0, header).transferId(id)
                    .blockHashHi(id).blockHashLo(index).blockIndex(index).firstPosition(index * 16).layerStart(0)
                    .layerCount(LAYERS).partBytes((int) bytes.byteSize()).chunkOffset(0).crc32c(crc)
                    .putPayload(src, 0, (int) bytes.byteSize());
            int length = MessageHeaderEncoder.ENCODED_LENGTH + e.encodedLength();
            if (corrupt) {
                int at = length - 10;
                buf.putByte(at, (byte) ~buf.getByte(at));
            }
            send(length);
        }

        void end(long id, int blocks) {
            EndEncoder e = new EndEncoder().wrapAndApplyHeader(buf, 0, header).transferId(id).blockCount(blocks);
            send(MessageHeaderEncoder.ENCODED_LENGTH + e.encodedLength());
        }

        AckDecoder awaitAck(long timeoutMs) {
            MessageHeaderDecoder h = new MessageHeaderDecoder();
            AckDecoder[] got = new AckDecoder[1];
            long end = deadline(timeoutMs);
            while (got[0] == null && System.nanoTime() - end < 0) {
                replies.poll((buffer, offset, length, hdr) -> {
                    h.wrap(buffer, offset);
                    if (h.templateId() == AckDecoder.TEMPLATE_ID) {
                        UnsafeBuffer copy = new UnsafeBuffer(new byte[length]);
                        copy.putBytes(0, buffer, offset, length);
                        got[0] = ack.wrap(copy, MessageHeaderDecoder.ENCODED_LENGTH, h.blockLength(), h.version());
                    }
                }, 10);
            }
            assertNotNull(got[0], "an ack arrives");
            return got[0];
        }

        @Override
        public void close() {
            aeron.close();
        }
    }
}
