package dev.baton.kvtransfer.aeron;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import dev.baton.common.TransferId;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvSendListener;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.ReceivedTransfer;
import dev.baton.kvtransfer.SendResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Shared test support: block contents, compatibility tuples, recording listeners, a send loop. */
final class Fixtures {

    static final ModelFingerprint MODEL = new ModelFingerprint(0x1234_5678_9abc_def0L, 0x0fed_cba9_8765_4321L);

    private Fixtures() {}

    static KvCompatibility compat(int layers) {
        return new KvCompatibility(MODEL, "F16", 16, "kv-head-position-dim", layers, 4, 64, KvCompatibility.PROTOCOL_VERSION);
    }

    /** A fresh, unique Aeron directory under /dev/shm (or the temp dir); deleted by {@link #deleteQuietly}. */
    static String aeronDir(String tag) {
        Path base = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        return base.resolve("baton-test-" + tag + "-" + UUID.randomUUID()).toString();
    }

    static void deleteQuietly(String dir) {
        Path p = Path.of(dir);
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int freeUdpPort() {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String udp(int port) {
        return "aeron:udp?endpoint=127.0.0.1:" + port;
    }

    /** Settings with their own embedded driver in a fresh directory. */
    static AeronTransportSettings settings(String dir, String channel, int stream, String replyChannel, int replyStream) {
        return AeronTransportSettings.defaults()
                .withDriver(AeronTransportSettings.DriverMode.EMBEDDED, dir)
                .withChannels(channel, stream, replyChannel, replyStream)
                .withFrames(65504, 4 << 20, 2 << 20)
                .withIdleStrategy(AeronTransportSettings.IdleKind.BACKOFF);
    }

    /** The deterministic content of block {@code index} of transfer {@code transfer}. */
    static void fill(MemorySegment block, long seed, long transfer, int index) {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + transfer * 10_007L + index);
        long n = block.byteSize() / 8;
        for (long i = 0; i < n; i++) {
            block.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
        for (long i = n * 8; i < block.byteSize(); i++) {
            block.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
        }
    }

    static BlockHash hash(long transfer, int index) {
        return new BlockHash(transfer, 0x5151_0000L + index);
    }

    /** Whether {@code block}'s first {@code bytes} bytes are the content {@link #fill} writes. */
    static boolean matches(MemorySegment block, int bytes, long seed, long transfer, int index, MemorySegment scratch) {
        MemorySegment expected = scratch.asSlice(0, bytes);
        fill(expected, seed, transfer, index);
        return expected.mismatch(block.asSlice(0, bytes)) == -1;
    }

    /** How a received transfer ended. */
    record Received(long id, String kind, KvFailure failure, String reason, MemorySegment[] blocks, boolean[] complete,
            long[] hashHi, long[] hashLo, int[] positions, Arena arena) {}

    /** A receiver listener that allocates destination blocks per transfer and records each ending. */
    static final class RecordingReceiver implements KvTransferListener {
        final BlockingQueue<Received> endings = new LinkedBlockingQueue<>();
        final Map<Long, MemorySegment[]> handedOut = new ConcurrentHashMap<>();
        final Map<Long, Arena> arenas = new ConcurrentHashMap<>();
        volatile int begins;

        @Override
        public MemorySegment[] onBegin(TransferId id, long destinationTag, int blockCount, int blockBytes) {
            begins++;
            Arena arena = Arena.ofShared();
            MemorySegment[] blocks = new MemorySegment[blockCount];
            for (int i = 0; i < blockCount; i++) {
                blocks[i] = arena.allocate(blockBytes, 64);
            }
            arenas.put(id.value(), arena);
            handedOut.put(id.value(), blocks);
            return blocks;
        }

        private void record(ReceivedTransfer t, String kind, KvFailure failure, String reason) {
            int n = t.blockCount();
            boolean[] complete = new boolean[n];
            long[] hi = new long[n];
            long[] lo = new long[n];
            int[] pos = new int[n];
            for (int i = 0; i < n; i++) {
                complete[i] = t.isBlockComplete(i);
                hi[i] = t.blockHash(i).hi();
                lo[i] = t.blockHash(i).lo();
                pos[i] = t.firstPosition(i);
            }
            endings.add(new Received(t.id().value(), kind, failure, reason, t.blocks(), complete, hi, lo, pos,
                    arenas.remove(t.id().value())));
        }

        @Override
        public void onComplete(ReceivedTransfer transfer) {
            record(transfer, "complete", null, null);
        }

        @Override
        public void onFailed(ReceivedTransfer transfer, KvFailure failure, String reason) {
            record(transfer, "failed", failure, reason);
        }

        @Override
        public void onCancelled(ReceivedTransfer transfer, String reason) {
            record(transfer, "cancelled", KvFailure.CANCELLED, reason);
        }

        Received next(long timeout, TimeUnit unit) throws InterruptedException {
            return endings.poll(timeout, unit);
        }
    }

    /** How a sent transfer ended. */
    record Sent(long id, String kind, KvFailure failure, String reason) {}

    static final class RecordingSender implements KvSendListener {
        final BlockingQueue<Sent> endings = new LinkedBlockingQueue<>();

        @Override
        public void onComplete(TransferId id) {
            endings.add(new Sent(id.value(), "complete", null, null));
        }

        @Override
        public void onFailed(TransferId id, KvFailure failure, String reason) {
            endings.add(new Sent(id.value(), "failed", failure, reason));
        }

        @Override
        public void onCancelled(TransferId id, String reason) {
            endings.add(new Sent(id.value(), "cancelled", KvFailure.CANCELLED, reason));
        }
    }

    /** Repeats {@code call} (with the sender's duty cycle in between) while it is retryable, up to {@code timeoutNs}. */
    static SendResult retry(KvSender sender, java.util.function.Supplier<SendResult> call, long timeoutNs) {
        long end = System.nanoTime() + timeoutNs;
        SendResult r;
        while ((r = call.get()).isRetryable() && System.nanoTime() - end < 0) {
            sender.doWork();
            Thread.onSpinWait();
        }
        return r;
    }

    /**
     * Sends one whole transfer: begin, every block (blocks with an odd index in two layer parts, to
     * exercise layer ranges), end. {@code source} holds one block's bytes and is refilled per block.
     * Returns the first result that is not OK, or OK.
     */
    static SendResult sendTransfer(KvSender sender, KvCompatibility compat, KvDestination dest, long seed, long transfer,
            int blockCount, int blockBytes, long deadlineNs, MemorySegment source, int stopAfterBlocks) {
        TransferId id = new TransferId(transfer);
        long limit = TimeUnit.SECONDS.toNanos(20);
        SendResult r = retry(sender, () -> sender.begin(id, compat, dest, transfer, blockCount, blockBytes, deadlineNs), limit);
        if (r != SendResult.OK) {
            return r;
        }
        int layers = compat.layerCount();
        int perLayer = blockBytes / layers;
        for (int i = 0; i < Math.min(blockCount, stopAfterBlocks); i++) {
            // a source with room for every block gives each its own bytes (kept until the verdict, as a
            // sender with a shared region must); a smaller one is reused block after block
            MemorySegment block = source.byteSize() >= (long) blockCount * blockBytes
                    ? source.asSlice((long) i * blockBytes, blockBytes) : source.asSlice(0, blockBytes);
            fill(block, seed, transfer, i);
            int index = i;
            BlockHash h = hash(transfer, i);
            if (i % 2 == 1 && layers > 1) {
                int half = layers / 2;
                r = retry(sender, () -> sender.offerBlock(id, index, h, index * 16, 0, half, block.asSlice(0, (long) half * perLayer)), limit);
                if (r == SendResult.OK) {
                    r = retry(sender, () -> sender.offerBlock(id, index, h, index * 16, half, layers - half,
                            block.asSlice((long) half * perLayer, (long) (layers - half) * perLayer)), limit);
                }
            } else {
                r = retry(sender, () -> sender.offerBlock(id, index, h, index * 16, 0, layers, block), limit);
            }
            if (r != SendResult.OK) {
                return r;
            }
            sender.doWork();
        }
        if (stopAfterBlocks < blockCount) {
            return SendResult.OK;
        }
        return retry(sender, () -> sender.end(id), limit);
    }
}
