package dev.baton.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.RequestId;
import dev.baton.common.TransferId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.GenerationRequest;
import dev.baton.engine.sched.ImportListener;
import dev.baton.engine.sched.KvImport;
import dev.baton.engine.sched.LoopSettings;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvSendListener;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.SendResult;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import dev.baton.kvtransfer.aeron.AeronTransportSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The decode node's intake over a real Aeron IPC transport, fed by a bare sender playing a prefill
 * node that streams a prompt's blocks: a transfer that stops half way (the prefill was cancelled, or its
 * sender went away) is never taken for KV: the imported request fails, nothing is decoded, and every
 * reserved block returns to the pool, even with the first token handed over.
 */
@Timeout(120)
class KvIntakeTest {

    static Path model() {
        return Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    }

    /** An imported request's listener that registers its reservation with the intake, as DecodeNode's does. */
    static final class Importer implements ImportListener {
        final KvIntake intake;
        final TransferId transfer;
        final BlockHash[] hashes;
        final int blockSize;
        final int blockBytes;
        final CompletableFuture<KvImport> reserved = new CompletableFuture<>();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        volatile int tokens;

        Importer(KvIntake intake, TransferId transfer, BlockHash[] hashes, int blockSize, int blockBytes) {
            this.intake = intake;
            this.transfer = transfer;
            this.hashes = hashes;
            this.blockSize = blockSize;
            this.blockBytes = blockBytes;
        }

        @Override
        public void onReserved(KvImport ticket) {
            intake.expect(transfer, new KvIntake.Expected(ticket, hashes, blockSize, blockBytes));
            reserved.complete(ticket);
        }

        @Override
        public void onRevoke(KvImport ticket) {
            intake.cancel(transfer);
        }

        @Override
        public void onToken(int tokenId, String text) {
            tokens++;
        }

        @Override
        public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
            done.complete(reason);
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            done.completeExceptionally(new IllegalStateException(reason));
        }

        @Override
        public void onFailed(String reason) {
            onFailed(reason, false);
        }
    }

    @Test
    void shouldNotAdmitASequenceWhoseStreamedTransferStoppedHalfWay() throws Exception {
        Path base = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        String dir = base.resolve("baton-test-intake-" + UUID.randomUUID()).toString();
        try (Engine engine = Engine.open(EngineSettings.defaults(model()).withThreads(1).withKvCacheBytes(8L << 20));
                EngineLoop loop = new EngineLoop(engine, LoopSettings.defaults(), "decode-loop");
                AeronKvTransport transport = AeronKvTransport.launch(AeronTransportSettings.defaults()
                        .withDriver(AeronTransportSettings.DriverMode.EMBEDDED, dir)
                        .withChannels("aeron:ipc", 1001, "aeron:ipc", 1002), new SimpleMeterRegistry());
                DecodeNode.Intake intake = new DecodeNode.Intake(transport, engine);
                Arena arena = Arena.ofConfined()) {
            int bs = engine.pool().spec().blockSize();
            int blockBytes = Math.toIntExact(engine.pool().spec().blockBytes());
            int[] prompt = new SplittableRandom(3).ints(200, 0, 500).toArray();
            BlockHasher hasher = new BlockHasher(engine.fingerprint(), "", bs);
            BlockHash[] hashes = hasher.hashFullBlocks(hasher.root(""), prompt, prompt.length);
            KvSender sender = transport.newSender(new KvSendListener() {
                @Override
                public void onComplete(TransferId id) {}

                @Override
                public void onFailed(TransferId id, KvFailure failure, String reason) {}

                @Override
                public void onCancelled(TransferId id, String reason) {}
            });
            MemorySegment bytes = arena.allocate(blockBytes, 64);
            for (int round = 0; round < 2; round++) { // 0: the prefill node cancels; 1: its sender goes away
                RequestId id = new RequestId(10 + round);
                TransferId transfer = new TransferId(200 + round);
                Importer importer = new Importer(intake.listener, transfer, hashes, bs, blockBytes);
                loop.submitImport(new GenerationRequest(id, prompt, SamplingParams.builder().temperature(0).maxTokens(8)
                        .ignoreEos(true).build()), importer);
                KvImport ticket = importer.reserved.get(10, TimeUnit.SECONDS);
                int used = engine.pool().usedBlockCount();
                assertTrue(used > 0);
                loop.handoff(id, 7); // the first token is there: only the KV is missing
                KvSender s = round == 0 ? sender : transport.newSender(new KvSendListener() {
                    @Override
                    public void onComplete(TransferId t) {}

                    @Override
                    public void onFailed(TransferId t, KvFailure failure, String reason) {}

                    @Override
                    public void onCancelled(TransferId t, String reason) {}
                });
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                SendResult r;
                while ((r = s.begin(transfer, engine.compatibility(), transport.destination(), 0, ticket.blockCount(),
                        blockBytes, System.nanoTime() + TimeUnit.SECONDS.toNanos(30))).isRetryable()
                        && System.nanoTime() < deadline) {
                    s.doWork();
                    Thread.sleep(1);
                }
                assertEquals(SendResult.OK, r);
                for (int i = 0; i < ticket.blockCount() / 2; i++) { // the blocks of the chunks computed so far
                    while ((r = s.offerBlock(transfer, i, hashes[i], i * bs, 0, engine.compatibility().layerCount(), bytes))
                            .isRetryable()) {
                        s.doWork();
                    }
                    assertEquals(SendResult.OK, r);
                }
                if (round == 0) {
                    assertEquals(SendResult.OK, s.cancel(transfer, "the prompt's prefill ended before it was computed"));
                } else {
                    s.close();
                }
                ExecutionException e = assertThrows(ExecutionException.class, () -> importer.done.get(20, TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("KV transfer failed"), e.getCause().getMessage());
                assertEquals(0, importer.tokens, "nothing decoded from half a prompt's KV");
                long free = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (engine.pool().freeBlockCount() != engine.pool().blockCount() && System.nanoTime() < free) {
                    Thread.sleep(5);
                }
                assertEquals(engine.pool().blockCount(), engine.pool().freeBlockCount(), "every reserved block returned");
                assertEquals(0, intake.expectedCount());
            }
            sender.close();
        }
    }
}
