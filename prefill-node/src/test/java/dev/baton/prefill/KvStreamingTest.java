package dev.baton.prefill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.TransferId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.KvEvents;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.engine.sched.LoopSettings;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.ReceivedTransfer;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import dev.baton.kvtransfer.aeron.AeronTransportSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.agrona.concurrent.AgentRunner;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A prefill node (the actor, its engine loop and its shipper over a real Aeron IPC transport) whose KV
 * goes to a receiver standing in for the decode node's intake: each chunk's finished blocks are shipped
 * while the prompt is computed (or, with streaming off, only after it), and a prefill that is cancelled or
 * whose transfer fails after some blocks were shipped frees its blocks on both sides and never completes
 * the transfer. The loop is held between the shipper's cycle and the next step where a test needs a
 * moment with blocks shipped and the prompt unfinished.
 */
@Timeout(120)
class KvStreamingTest {

    static ActorTestKit kit;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create("prefill-test", ConfigFactory.parseString("""
                pekko.actor.serialize-messages = on
                pekko.loglevel = WARNING
                """).withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    static Path model() {
        return Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    }

    /** How a transfer ended at the stand-in receiver, with the bytes of its blocks when it completed. */
    record Ending(String kind, String reason, byte[][] blocks, BlockHash[] hashes, int[] positions) {}

    /** The decode node's intake, reduced to recording: fresh destination blocks per transfer. */
    static final class Intake implements KvTransferListener {
        final Arena arena = Arena.ofShared();
        final BlockingQueue<Ending> endings = new LinkedBlockingQueue<>();
        volatile TransferId begun;

        @Override
        public MemorySegment[] onBegin(TransferId id, long destinationTag, int blockCount, int blockBytes) {
            begun = id;
            MemorySegment[] blocks = new MemorySegment[blockCount];
            for (int i = 0; i < blockCount; i++) {
                blocks[i] = arena.allocate(blockBytes, 64);
            }
            return blocks;
        }

        @Override
        public void onComplete(ReceivedTransfer t) {
            byte[][] bytes = new byte[t.blockCount()][];
            BlockHash[] hashes = new BlockHash[t.blockCount()];
            int[] positions = new int[t.blockCount()];
            for (int i = 0; i < t.blockCount(); i++) {
                bytes[i] = t.blocks()[i].toArray(ValueLayout.JAVA_BYTE);
                hashes[i] = t.blockHash(i);
                positions[i] = t.firstPosition(i);
            }
            endings.add(new Ending("complete", "", bytes, hashes, positions));
        }

        @Override
        public void onFailed(ReceivedTransfer t, KvFailure failure, String reason) {
            endings.add(new Ending("failed", failure.tag() + ": " + reason, null, null, null));
        }

        @Override
        public void onCancelled(ReceivedTransfer t, String reason) {
            endings.add(new Ending("cancelled", reason, null, null, null));
        }
    }

    /** One prefill node with its own engine, loop, transport and stand-in receiver. */
    static final class Rig implements AutoCloseable {
        final String aeronDir;
        final Engine engine;
        final EngineLoop loop;
        final AeronKvTransport transport;
        final Intake intake = new Intake();
        final KvReceiver receiver;
        final AgentRunner receiverRunner;
        final PrefillNode.Shipping shipping;
        final ActorRef<NodeProtocol.Command> node;
        final SimpleMeterRegistry registry = new SimpleMeterRegistry();
        /** Counted down when the loop stops after the first cycle that shipped blocks of an unfinished prompt. */
        final CountDownLatch held = new CountDownLatch(1);
        /** Counted down by the test to let the held loop go on. */
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean holdOnce;

        Rig(String name, boolean streamKv) throws Exception {
            Path base = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
            aeronDir = base.resolve("baton-test-prefill-" + UUID.randomUUID()).toString();
            // chunks of 32 prompt tokens: two blocks of 16 finish per step
            engine = Engine.open(EngineSettings.defaults(model()).withThreads(1).withKvCacheBytes(16L << 20).withBatch(32, 16));
            loop = new EngineLoop(engine, LoopSettings.defaults(), name + "-loop");
            transport = AeronKvTransport.launch(AeronTransportSettings.defaults()
                    .withDriver(AeronTransportSettings.DriverMode.EMBEDDED, aeronDir)
                    .withChannels("aeron:ipc", 1001, "aeron:ipc", 1002), new SimpleMeterRegistry());
            receiver = transport.newReceiver(engine.compatibility(), intake);
            receiverRunner = transport.startOnThread(receiver);
            shipping = new PrefillNode.Shipping(transport, null, engine, loop, PrefillSettings.defaults().withStreamKv(streamKv),
                    registry, io.micrometer.core.instrument.Tags.of("node", name));
            loop.attach(() -> { // after the shipper's cycle, before the step
                if (holdOnce && shipping.streamedBlocks() > 0) {
                    holdOnce = false;
                    held.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return 0;
            });
            NodeId id = new NodeId(name);
            node = kit.spawn(PrefillNode.create(id, engine, loop, shipping,
                    KvEventFeed.start(loop, engine.pool(), new KvEvents.Log(id, 1))), name);
        }

        /** Sends the prefill of {@code prompt} and answers its PrefillStarted with this rig's endpoint. */
        void prefill(RequestId id, TransferId transfer, int[] prompt, TestProbe<NodeProtocol.Command> decode,
                TestProbe<GenerationEvent> client) {
            SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(8).ignoreEos(true).build();
            node.tell(new NodeProtocol.Prefill(id, transfer, prompt, params.toSpec(), "", decode.getRef(), client.getRef(), 0));
            NodeProtocol.PrefillStarted started = decode.expectMessageClass(NodeProtocol.PrefillStarted.class,
                    Duration.ofSeconds(30));
            assertEquals(transfer, started.transferId());
            node.tell(new NodeProtocol.DecodeReady(id, transfer, transport.destination().channel(),
                    transport.destination().streamId(), 0));
        }

        /** Waits until every block is back in the pool (cached blocks count as free) and nothing is shipped. */
        void awaitFree() throws InterruptedException {
            KvBlockPool pool = engine.pool();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((pool.freeBlockCount() != pool.blockCount() || shipping.inFlight() != 0 || loop.runningCount() != 0)
                    && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(pool.blockCount(), pool.freeBlockCount(), "every block of the prefill node returned");
            assertEquals(0, shipping.inFlight(), "no shipment left");
            assertEquals(0, loop.runningCount());
        }

        @Override
        public void close() throws Exception {
            release.countDown();
            kit.stop(node);
            loop.close();
            shipping.close();
            receiverRunner.close();
            transport.close();
            engine.close();
            intake.arena.close();
            try (Stream<Path> s = Files.walk(Path.of(aeronDir))) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (java.io.IOException | java.io.UncheckedIOException ignored) {
                // the driver deletes its directory on close
            }
        }
    }

    static int[] prompt(int length, long seed) {
        return new SplittableRandom(seed).ints(length, 0, 500).toArray();
    }

    @Test
    void shouldShipFinishedBlocksWhileThePromptIsComputedAndTheBytesItEndsWith() throws Exception {
        shipAndCheck(true);
    }

    @Test
    void shouldShipOnlyOnceThePromptIsComputedWhenStreamingIsOff() throws Exception {
        shipAndCheck(false);
    }

    private static void shipAndCheck(boolean streamKv) throws Exception {
        try (Rig rig = new Rig(streamKv ? "p-stream" : "p-whole", streamKv)) {
            int[] prompt = prompt(Math.min(300, rig.engine.config().contextLength() - 16), 5); // partial last block
            int bs = rig.engine.pool().spec().blockSize();
            int blocks = (prompt.length + bs - 1) / bs;
            TestProbe<NodeProtocol.Command> decode = kit.createTestProbe();
            TestProbe<GenerationEvent> client = kit.createTestProbe();
            RequestId id = new RequestId(1);
            rig.prefill(id, new TransferId(101), prompt, decode, client);
            NodeProtocol.Handoff handoff = decode.expectMessageClass(NodeProtocol.Handoff.class, Duration.ofSeconds(30));
            assertEquals(id, handoff.requestId());
            Ending end = rig.intake.endings.poll(30, TimeUnit.SECONDS);
            assertEquals("complete", end == null ? null : end.kind(), String.valueOf(end));
            assertEquals(blocks, end.blocks().length);
            if (streamKv) {
                long streamed = rig.shipping.streamedBlocks();
                assertTrue(streamed > 0 && streamed < blocks, "blocks shipped before the last chunk: " + streamed);
            } else {
                assertEquals(0, rig.shipping.streamedBlocks(), "nothing shipped before the prompt was computed");
            }
            // every full block arrived with its hash, position and final bytes (the pool's cached copy, the
            // block the prompt ended with: a block shipped early was shipped finished)
            BlockHasher hasher = new BlockHasher(rig.engine.fingerprint(), "", bs);
            BlockHash[] hashes = hasher.hashFullBlocks(hasher.root(""), prompt, prompt.length);
            KvBlockPool pool = rig.engine.pool();
            for (int i = 0; i < hashes.length; i++) {
                assertEquals(hashes[i], end.hashes()[i], "hash of block " + i);
                assertEquals(i * bs, end.positions()[i], "position of block " + i);
                int cached = pool.prefixCache().find(hashes[i]);
                assertNotEquals(KvBlockPool.NO_BLOCK, cached, "block " + i + " cached");
                byte[] finalBytes = pool.memory().asSlice(pool.blockOffset(cached), pool.spec().blockBytes())
                        .toArray(ValueLayout.JAVA_BYTE);
                assertArrayEquals(finalBytes, end.blocks()[i], "bytes of block " + i);
            }
            assertEquals((blocks - 1) * bs, end.positions()[blocks - 1], "the partial last block");
            rig.awaitFree();
            assertEquals(1, rig.shipping.shipped(), "the transfer counts as shipped");
            assertEquals(1, rig.registry.get("baton.prefill.kv.handoff").timer().count());
            assertEquals(rig.shipping.streamedBlocks(), (long) rig.registry.get("baton.prefill.kv.streamed.blocks")
                    .functionCounter().count());
            client.expectMessageClass(GenerationEvent.Prefilled.class, Duration.ofSeconds(5));
            assertInstanceOf(GenerationEvent.Tokens.class, client.receiveMessage(Duration.ofSeconds(5)));
            client.expectNoMessage(Duration.ofMillis(100)); // the decode node continues: no end here
        }
    }

    @Test
    void shouldCancelTheTransferAndFreeBlocksOnBothSidesWhenCancelledAfterBlocksWereShipped() throws Exception {
        try (Rig rig = new Rig("p-cancel", true)) {
            int[] prompt = prompt(Math.min(400, rig.engine.config().contextLength() - 16), 6);
            TestProbe<NodeProtocol.Command> decode = kit.createTestProbe();
            TestProbe<GenerationEvent> client = kit.createTestProbe();
            RequestId id = new RequestId(2);
            rig.holdOnce = true;
            rig.prefill(id, new TransferId(102), prompt, decode, client);
            assertTrue(rig.held.await(30, TimeUnit.SECONDS), "no block shipped while the prompt was computed");
            assertTrue(rig.shipping.inFlight() > 0);
            rig.node.tell(new NodeProtocol.Cancel(id, "client disconnected"));
            TestProbe<NodeProtocol.LoadReport> load = kit.createTestProbe();
            rig.node.tell(new NodeProtocol.GetLoad(load.getRef())); // answered after the cancel: the loop has it queued
            load.receiveMessage(Duration.ofSeconds(10));
            rig.release.countDown();

            Ending end = rig.intake.endings.poll(30, TimeUnit.SECONDS);
            assertEquals("cancelled", end == null ? null : end.kind(), "the receiver returns its blocks: " + end);
            NodeProtocol.Cancel cancel = decode.expectMessageClass(NodeProtocol.Cancel.class, Duration.ofSeconds(10));
            assertEquals(id, cancel.requestId());
            GenerationEvent.Failed failed = expectFailed(client);
            assertTrue(failed.reason().contains("client disconnected"), failed.reason());
            rig.awaitFree();
            decode.expectNoMessage(Duration.ofMillis(200)); // no handoff: the prompt was never finished
            assertTrue(rig.intake.endings.isEmpty(), "one ending, and no completion");
        }
    }

    @Test
    void shouldFailRetryablyAndFreeBlocksWhenTheDecodeNodeCancelsMidPrompt() throws Exception {
        try (Rig rig = new Rig("p-refused", true)) {
            int[] prompt = prompt(Math.min(400, rig.engine.config().contextLength() - 16), 7);
            TestProbe<NodeProtocol.Command> decode = kit.createTestProbe();
            TestProbe<GenerationEvent> client = kit.createTestProbe();
            RequestId id = new RequestId(3);
            TransferId transfer = new TransferId(103);
            rig.holdOnce = true;
            rig.prefill(id, transfer, prompt, decode, client);
            assertTrue(rig.held.await(30, TimeUnit.SECONDS), "no block shipped while the prompt was computed");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (rig.intake.begun == null && System.nanoTime() < deadline) {
                Thread.sleep(2); // the receiver's thread takes the Begin
            }
            assertEquals(transfer, rig.intake.begun);
            assertTrue(rig.receiver.cancel(transfer)); // as the decode node's intake does when its request is cancelled
            Ending end = rig.intake.endings.poll(30, TimeUnit.SECONDS);
            assertEquals("cancelled", end == null ? null : end.kind(), String.valueOf(end));
            rig.release.countDown();

            GenerationEvent.Failed failed = expectFailed(client);
            assertTrue(failed.retryable(), "another node pair can take the request: " + failed);
            assertTrue(failed.reason().contains("cancelled the KV transfer"), failed.reason());
            NodeProtocol.Cancel cancel = decode.expectMessageClass(NodeProtocol.Cancel.class, Duration.ofSeconds(10));
            assertEquals(id, cancel.requestId());
            rig.awaitFree();
            decode.expectNoMessage(Duration.ofMillis(200));
            assertTrue(rig.intake.endings.isEmpty(), "no completion after the cancel");
            assertFalse(rig.shipping.shipped() > 0);
        }
    }

    /** The request's Failed event, after any Prefilled it reported. */
    private static GenerationEvent.Failed expectFailed(TestProbe<GenerationEvent> client) {
        while (true) {
            GenerationEvent e = client.receiveMessage(Duration.ofSeconds(30));
            if (e instanceof GenerationEvent.Failed f) {
                client.expectNoMessage(Duration.ofMillis(200)); // exactly one end
                return f;
            }
            assertInstanceOf(GenerationEvent.Prefilled.class, e, "only a Prefilled before the failure: " + e);
        }
    }
}
