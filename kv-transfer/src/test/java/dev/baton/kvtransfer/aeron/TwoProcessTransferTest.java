package dev.baton.kvtransfer.aeron;

import static dev.baton.kvtransfer.aeron.Fixtures.compat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.TransferId;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.SendResult;
import dev.baton.kvtransfer.aeron.AeronTransportSettings.DriverMode;
import dev.baton.kvtransfer.aeron.Fixtures.Received;
import dev.baton.kvtransfer.aeron.Fixtures.RecordingReceiver;
import dev.baton.kvtransfer.aeron.Fixtures.RecordingSender;
import dev.baton.kvtransfer.aeron.Fixtures.Sent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.AgentRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transfers across a process boundary: this JVM is one side, a {@link TransferPeer} child JVM the other.
 * UDP runs each process with its own media driver on 127.0.0.1 (as two hosts would); IPC shares this
 * JVM's embedded driver with the child.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TwoProcessTransferTest {

    private static final long SEED = 1234;
    private static final int LAYERS = 4;
    private static final int BLOCK_BYTES = LAYERS * 24_000; // two chunks a block at the 65504-byte MTU

    @TempDir
    Path work;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String> dirs = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        dirs.forEach(Fixtures::deleteQuietly);
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(c);
        return c;
    }

    private String dir(String tag) {
        String d = Fixtures.aeronDir(tag);
        dirs.add(d);
        return d;
    }

    @Test
    void shouldMoveAThousandRandomBlocksBetweenTwoProcessesOverIpc() throws Exception {
        String d = dir("ipc2p");
        AeronKvTransport transport = moveThousandBlocks(Fixtures.settings(d, "aeron:ipc", 11, "aeron:ipc", 12), d,
                "EXTERNAL", "aeron:ipc", "aeron:ipc", d);
        assertEquals(0, transport.receiveMetrics().pulledBytes(), "a sender without a region sends bytes");
    }

    @Test
    void shouldMoveAThousandRandomBlocksBetweenTwoProcessesOverUdp() throws Exception {
        String data = Fixtures.udp(Fixtures.freeUdpPort());
        String reply = Fixtures.udp(Fixtures.freeUdpPort());
        String mine = dir("udp2p-recv");
        String child = dir("udp2p-send");
        moveThousandBlocks(Fixtures.settings(mine, data, 11, reply, 12), mine, "EMBEDDED", data, reply, child);
    }

    @Test
    void shouldLetTheReceiverCopyAThousandBlocksFromTheSendersSharedRegionOverIpc() throws Exception {
        String d = dir("pull2p");
        AeronKvTransport transport = moveThousandBlocks(Fixtures.settings(d, "aeron:ipc", 11, "aeron:ipc", 12), d,
                "EXTERNAL", "aeron:ipc", "aeron:ipc", d, "shared");
        // the first transfer names the region and carries bytes; the nine after it are copied from the region
        assertEquals(900L * BLOCK_BYTES, transport.receiveMetrics().pulledBytes());
    }

    private AeronKvTransport moveThousandBlocks(AeronTransportSettings mine, String myDir, String childDriver, String data,
            String reply, String childDir, String... mode) throws Exception {
        AeronKvTransport transport = closeLater(AeronKvTransport.launch(mine, new SimpleMeterRegistry()));
        RecordingReceiver rl = new RecordingReceiver();
        closeLater(transport.startOnThread(transport.newReceiver(compat(LAYERS), rl)));
        int transfers = 10;
        int blocks = 100;
        ChildJvm child = closeLater(new ChildJvm(work, TransferPeer.class, "send", childDir, childDriver, data, "11", reply, "12",
                "1000", Integer.toString(transfers), Integer.toString(blocks), Integer.toString(BLOCK_BYTES),
                Long.toString(SEED), Integer.toString(Integer.MAX_VALUE), "30000", mode.length > 0 ? mode[0] : "bytes"));

        int verified = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment scratch = arena.allocate(BLOCK_BYTES);
            for (int t = 0; t < transfers; t++) {
                Received got = rl.next(60, TimeUnit.SECONDS);
                int seen = t;
                assertNotNull(got, () -> "transfer " + seen + " arrives; child log:\n" + child.log());
                assertEquals("complete", got.kind(), got::reason);
                for (int i = 0; i < blocks; i++) {
                    assertTrue(got.complete()[i]);
                    assertTrue(Fixtures.matches(got.blocks()[i], BLOCK_BYTES, SEED, got.id(), i, scratch),
                            "transfer " + got.id() + " block " + i + " holds its own bytes");
                    assertEquals(Fixtures.hash(got.id(), i), new BlockHash(got.hashHi()[i], got.hashLo()[i]));
                    assertEquals(i * 16, got.positions()[i]);
                }
                verified += blocks;
                got.arena().close();
            }
        }
        assertEquals(1000, verified);
        assertEquals("DONE " + transfers + " 0", child.await("DONE", 30, TimeUnit.SECONDS), child::log);
        assertEquals(0, transport.receiveMetrics().failedCount(KvFailure.CRC_MISMATCH));
        return transport;
    }

    @Test
    void shouldFailAtTheDeadlineAndReturnEveryBlockWhenTheSenderIsKilledHalfway() throws Exception {
        String data = Fixtures.udp(Fixtures.freeUdpPort());
        String reply = Fixtures.udp(Fixtures.freeUdpPort());
        String mine = dir("kill-send-recv");
        AeronKvTransport transport = closeLater(AeronKvTransport.launch(Fixtures.settings(mine, data, 11, reply, 12),
                new SimpleMeterRegistry()));
        RecordingReceiver rl = new RecordingReceiver();
        closeLater(transport.startOnThread(transport.newReceiver(compat(LAYERS), rl)));
        ChildJvm child = closeLater(new ChildJvm(work, TransferPeer.class, "send", dir("kill-send-send"), "EMBEDDED", data, "11",
                reply, "12", "77", "1", "100", Integer.toString(BLOCK_BYTES), Long.toString(SEED), "50", "3000"));

        assertEquals("HALF", child.await("HALF", 60, TimeUnit.SECONDS), child::log);
        long killedAt = System.nanoTime();
        child.kill();

        Received got = rl.next(30, TimeUnit.SECONDS);
        assertNotNull(got);
        assertEquals(KvFailure.DEADLINE, got.failure(), got.reason());
        assertArrayEquals(rl.handedOut.get(77L), got.blocks(), "every destination block comes back");
        assertEquals(100, got.blocks().length);
        // The child had offered 50 blocks when it was killed; its driver may not have sent them all.
        for (int i = 50; i < 100; i++) {
            assertTrue(!got.complete()[i], "block " + i + " was never sent");
        }
        assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(10), "failed by the 3 s deadline");
        got.arena().close();
    }

    @Test
    void shouldFailTheSendersTransferCleanlyWhenTheReceiverIsKilled() throws Exception {
        String data = Fixtures.udp(Fixtures.freeUdpPort());
        String reply = Fixtures.udp(Fixtures.freeUdpPort());
        ChildJvm child = closeLater(new ChildJvm(work, TransferPeer.class, "receive", dir("kill-recv-recv"), data, "11", reply, "12"));
        assertEquals("READY", child.await("READY", 60, TimeUnit.SECONDS), child::log);
        AeronKvTransport transport = closeLater(AeronKvTransport.launch(Fixtures.settings(dir("kill-recv-send"), data, 11, reply, 12),
                new SimpleMeterRegistry()));
        RecordingSender sl = new RecordingSender();
        KvSender sender = closeLater(transport.newSender(sl));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(BLOCK_BYTES);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            assertEquals(SendResult.OK, Fixtures.sendTransfer(sender, compat(LAYERS), transport.destination(), SEED, 88, 100,
                    BLOCK_BYTES, deadline, source, 10));
            assertEquals("BEGIN 88", child.await("BEGIN", 30, TimeUnit.SECONDS), child::log);
            child.kill();

            TransferId id = new TransferId(88);
            SendResult last = SendResult.OK;
            for (int i = 10; i < 100 && last == SendResult.OK; i++) {
                Fixtures.fill(source, SEED, 88, i);
                int index = i;
                last = Fixtures.retry(sender, () -> sender.offerBlock(id, index, Fixtures.hash(88, index), index * 16, 0, LAYERS,
                        source), TimeUnit.MILLISECONDS.toNanos(200));
            }
            Sent sent = null;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (sent == null && System.nanoTime() - end < 0) {
                sender.doWork();
                sent = sl.endings.poll();
            }
            assertNotNull(sent, "the sender hears its transfer failed");
            assertEquals("failed", sent.kind());
            assertTrue(sent.failure() == KvFailure.DEADLINE || sent.failure() == KvFailure.RECEIVER_GONE, sent.toString());
            assertEquals(0, sender.inFlight());
            assertEquals(SendResult.UNKNOWN_TRANSFER, sender.end(id), "the transfer is gone from the sender");
            sender.doWork();
            assertNull(sl.endings.poll(), "exactly one verdict");
            assertEquals(0, transport.errorCount());
        }
    }
}
