package dev.baton.bench.transfer;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import dev.baton.common.TransferId;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvSendListener;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.ReceivedTransfer;
import dev.baton.kvtransfer.SendResult;
import dev.baton.kvtransfer.SharedRegion;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import dev.baton.kvtransfer.aeron.AeronTransportSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.agrona.concurrent.AgentRunner;

/**
 * KV transfer speed, in one process: for each transport, block size and blocks per transfer, the
 * throughput (GB/s, 10^9 bytes) with up to {@code window} transfers in flight, and the latency of one
 * transfer at a time (begin to the sender's completion verdict, p50 and p99), next to a plain memory
 * copy ({@link MemorySegment#copy}) of the same blocks between the same kind of buffers, measured in
 * the same run. The sender runs on the calling thread, the receiver on its own thread, each transport
 * with its own embedded media driver in a fresh directory under /dev/shm (deleted afterwards).
 *
 * <p>Every phase is bounded by a byte budget and a time limit. CRC32C is computed and checked on
 * both sides as in production; the destination blocks are reused round-robin, as a block pool would.
 */
public final class TransferBenchmark {

    /**
     * The transports measured: Aeron IPC with the sender's blocks in a {@link SharedRegion} (the
     * receiver copies them out of it, once it maps it), Aeron IPC carrying the bytes in its frames,
     * and Aeron UDP on loopback carrying the bytes.
     */
    public enum Transport {
        IPC("aeron-ipc"), IPC_BYTES("aeron-ipc-bytes"), UDP("aeron-udp");

        private final String label;

        Transport(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        /** Parses {@code ipc}, {@code ipc-bytes} or {@code udp} (any case). */
        public static Transport parse(String s) {
            return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        }
    }

    /** One measured configuration, with the memory copy of the same bytes next to it. */
    public record Row(String transport, int blockBytes, int blocksPerTransfer, int transfers, double gbPerSecond,
            double p50Micros, double p99Micros, double memcpyGbPerSecond, double memcpyP50Micros,
            double percentOfMemcpy) {}

    private static final int LAYERS = 32;
    private static final KvCompatibility COMPAT = new KvCompatibility(new ModelFingerprint(1, 2), "F16", 16, "bench", LAYERS, 8,
            128, KvCompatibility.PROTOCOL_VERSION);
    private static final long DESTINATION_BUDGET_BYTES = 256L << 20;

    private final long bytesPerPhase;
    private final long secondsPerPhase;
    private final int window;
    private final int termLengthBytes;
    private final int ipcTermLengthBytes;

    /**
     * @param bytesPerPhase   payload bytes moved per throughput phase (the latency phase moves at most half)
     * @param secondsPerPhase time limit of each phase
     * @param window          transfers in flight in the throughput phase (fewer when their blocks exceed 256 MiB)
     * @param termLengthBytes    Aeron term length of the benchmark's UDP streams
     * @param ipcTermLengthBytes Aeron term length of its IPC streams
     */
    public TransferBenchmark(long bytesPerPhase, long secondsPerPhase, int window, int termLengthBytes,
            int ipcTermLengthBytes) {
        if (bytesPerPhase < 1 || secondsPerPhase < 1 || window < 1) {
            throw new IllegalArgumentException("bytesPerPhase, secondsPerPhase and window must be positive");
        }
        this.bytesPerPhase = bytesPerPhase;
        this.secondsPerPhase = secondsPerPhase;
        this.window = window;
        this.termLengthBytes = termLengthBytes;
        this.ipcTermLengthBytes = ipcTermLengthBytes;
    }

    /** Measures every transport at every block size and block count; progress lines go to {@code progress}. */
    public List<Row> run(List<Transport> transports, List<Integer> blockSizes, List<Integer> blockCounts, PrintStream progress) {
        List<Row> rows = new ArrayList<>();
        for (Transport t : transports) {
            String dir = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir"))
                    .resolve("baton-bench-" + UUID.randomUUID()).toString();
            long sourceBytes = (long) java.util.Collections.max(blockSizes) * java.util.Collections.max(blockCounts);
            try (Session s = new Session(t, dir, sourceBytes)) {
                for (int blockBytes : blockSizes) {
                    for (int blocks : blockCounts) {
                        progress.printf("baton bench transfer: %s, %d blocks of %d bytes...%n", t.label(), blocks, blockBytes);
                        rows.add(s.measure(blockBytes, blocks));
                    }
                }
            } finally {
                deleteQuietly(Path.of(dir));
            }
        }
        return rows;
    }

    /** A Markdown table of the rows. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| transport | block | blocks/transfer | transfers | GB/s | p50 µs | p99 µs | memcpy GB/s | memcpy p50 µs | % of memcpy |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %.2f | %.1f | %.1f | %.2f | %.1f | %.0f%% |%n",
                    r.transport(), size(r.blockBytes()), r.blocksPerTransfer(), r.transfers(), r.gbPerSecond(), r.p50Micros(),
                    r.p99Micros(), r.memcpyGbPerSecond(), r.memcpyP50Micros(), r.percentOfMemcpy()));
        }
        return sb.toString();
    }

    private static String size(int bytes) {
        return bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB"
                : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? (bytes >> 10) + " KiB" : bytes + " B";
    }

    /** One transport with a receiver thread and a sender on the calling thread. */
    private final class Session implements KvSendListener, KvTransferListener, AutoCloseable {
        private final AeronKvTransport transport;
        private final KvSender sender;
        private final AgentRunner receiverRunner;
        private final KvDestination destination;
        private final SharedRegion region;
        private final Transport kind;

        private MemorySegment[] sources;
        private MemorySegment[][] destinations;
        private long[] startNs;
        private long[] latencyNs;
        private long baseId;
        private int completed;
        private volatile String failure;

        Session(Transport kind, String dir, long sourceBytes) {
            this.kind = kind;
            AeronTransportSettings s = AeronTransportSettings.defaults()
                    .withDriver(AeronTransportSettings.DriverMode.EMBEDDED, dir)
                    .withFrames(AeronTransportSettings.MAX_MTU_BYTES, termLengthBytes, ipcTermLengthBytes)
                    .withIdleStrategy(AeronTransportSettings.IdleKind.YIELD);
            if (kind == Transport.UDP) {
                s = s.withChannels(udp(freePort()), 1001, udp(freePort()), 1002);
            }
            transport = AeronKvTransport.launch(s, new SimpleMeterRegistry());
            destination = transport.destination();
            KvReceiver receiver = transport.newReceiver(COMPAT, this);
            receiverRunner = transport.startOnThread(receiver);
            region = kind == Transport.IPC ? SharedRegion.create("bench-sources", sourceBytes) : null;
            sender = transport.newSender(this, region);
        }

        Row measure(int blockBytes, int blocks) {
            long transferBytes = (long) blockBytes * blocks;
            int w = (int) Math.max(1, Math.min(window, DESTINATION_BUDGET_BYTES / transferBytes));
            try (Arena arena = Arena.ofShared()) {
                return measure(arena, blockBytes, blocks, w);
            }
        }

        private Row measure(Arena arena, int blockBytes, int blocks, int w) {
            long transferBytes = (long) blockBytes * blocks;
            sources = new MemorySegment[blocks];
            SplittableRandom random = new SplittableRandom(blockBytes * 31L + blocks);
            for (int i = 0; i < blocks; i++) {
                sources[i] = region != null ? region.segment().asSlice((long) i * blockBytes, blockBytes)
                        : arena.allocate(blockBytes, 4096);
                for (long j = 0; j < blockBytes / 8; j++) {
                    sources[i].setAtIndex(ValueLayout.JAVA_LONG, j, random.nextLong());
                }
            }
            destinations = new MemorySegment[w][blocks];
            for (MemorySegment[] set : destinations) {
                for (int i = 0; i < blocks; i++) {
                    set[i] = arena.allocate(blockBytes, 4096);
                }
            }
            int throughputTransfers = (int) Math.max(4, Math.min(100_000, bytesPerPhase / transferBytes));
            int latencyTransfers = (int) Math.max(4, Math.min(5_000, bytesPerPhase / 2 / transferBytes));

            // Warm-up: the same path, not measured.
            transfers(Math.max(2, throughputTransfers / 4), w, blocks, blockBytes, null);
            long[] lat = new long[latencyTransfers];
            int latencyDone = transfers(latencyTransfers, 1, blocks, blockBytes, lat);
            long t0 = System.nanoTime();
            int throughputDone = transfers(throughputTransfers, w, blocks, blockBytes, null);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double gbps = throughputDone * (double) transferBytes / seconds / 1e9;

            double[] copy = memcpy(Math.max(throughputDone, 4), blocks, blockBytes, w);
            Arrays.sort(lat, 0, latencyDone);
            return new Row(kind.label(), blockBytes, blocks, throughputDone, gbps, percentile(lat, latencyDone, 0.50) / 1e3,
                    percentile(lat, latencyDone, 0.99) / 1e3, copy[0], copy[1] / 1e3, 100 * gbps / copy[0]);
        }

        /** {gb/s, p50 ns} of copying {@code transfers} transfers' blocks from the sources to the destination sets. */
        private double[] memcpy(int transfers, int blocks, int blockBytes, int w) {
            long[] lat = new long[transfers];
            for (int warm = 0; warm < Math.min(transfers, 8); warm++) {
                copyTransfer(warm % w, blocks, blockBytes);
            }
            long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(secondsPerPhase);
            long t0 = System.nanoTime();
            int n = 0;
            while (n < transfers && System.nanoTime() - limit < 0) {
                long s = System.nanoTime();
                copyTransfer(n % w, blocks, blockBytes);
                lat[n++] = System.nanoTime() - s;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            Arrays.sort(lat, 0, n);
            return new double[] {n * (double) blocks * blockBytes / seconds / 1e9, percentile(lat, n, 0.5)};
        }

        private void copyTransfer(int set, int blocks, int blockBytes) {
            for (int i = 0; i < blocks; i++) {
                MemorySegment.copy(sources[i], 0, destinations[set][i], 0, blockBytes);
            }
        }

        /**
         * Runs {@code count} transfers with up to {@code w} in flight; records begin-to-verdict latencies in
         * {@code latencies} when given. Returns the transfers completed within the time limit.
         */
        private int transfers(int count, int w, int blocks, int blockBytes, long[] latencies) {
            baseId += 1_000_000;
            startNs = new long[count];
            latencyNs = latencies;
            completed = 0;
            long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(secondsPerPhase);
            int started = 0;
            while (completed < count) {
                if (failure != null) {
                    throw new IllegalStateException("transfer failed: " + failure);
                }
                boolean late = System.nanoTime() - limit > 0;
                if (started - completed < w && started < count && !late) {
                    send(baseId + started, started, blocks, blockBytes);
                    started++;
                } else if (late && started == completed) {
                    break;
                } else {
                    if (sender.doWork() == 0) {
                        Thread.yield(); // give the receiver and the media driver the core on a small machine
                    }
                }
                if (System.nanoTime() - limit > TimeUnit.SECONDS.toNanos(30)) {
                    throw new IllegalStateException("transfers stalled: " + completed + " of " + started + " completed");
                }
            }
            return completed;
        }

        private void send(long id, int index, int blocks, int blockBytes) {
            TransferId tid = new TransferId(id);
            long now = System.nanoTime();
            startNs[index] = now;
            await(() -> sender.begin(tid, COMPAT, destination, id, blocks, blockBytes, now + TimeUnit.SECONDS.toNanos(60)));
            for (int i = 0; i < blocks; i++) {
                int b = i;
                await(() -> sender.offerBlock(tid, b, new BlockHash(id, b), b * 16, 0, LAYERS, sources[b]));
            }
            await(() -> sender.end(tid));
        }

        private void await(java.util.function.Supplier<SendResult> call) {
            long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            SendResult r;
            while ((r = call.get()).isRetryable()) {
                if (System.nanoTime() - limit > 0) {
                    throw new IllegalStateException("send stalled: " + r);
                }
                sender.doWork();
                Thread.yield();
            }
            if (r != SendResult.OK) {
                throw new IllegalStateException("send failed: " + r);
            }
        }

        @Override
        public void onComplete(TransferId id) {
            int index = (int) (id.value() - baseId);
            if (latencyNs != null) {
                latencyNs[completed] = System.nanoTime() - startNs[index];
            }
            completed++;
        }

        @Override
        public void onFailed(TransferId id, KvFailure f, String reason) {
            failure = id + " " + f + ": " + reason;
        }

        @Override
        public void onCancelled(TransferId id, String reason) {
            failure = id + " cancelled: " + reason;
        }

        @Override
        public MemorySegment[] onBegin(TransferId id, long destinationTag, int blockCount, int blockBytes) {
            return destinations[(int) Math.floorMod(id.value(), (long) destinations.length)];
        }

        @Override
        public void onComplete(ReceivedTransfer transfer) {
        }

        @Override
        public void onFailed(ReceivedTransfer transfer, KvFailure f, String reason) {
            failure = transfer.id() + " " + f + " at the receiver: " + reason;
        }

        @Override
        public void onCancelled(ReceivedTransfer transfer, String reason) {
            failure = transfer.id() + " cancelled at the receiver: " + reason;
        }

        @Override
        public void close() {
            sender.close();
            receiverRunner.close();
            transport.close();
            if (region != null) {
                region.close();
            }
        }
    }

    private static double percentile(long[] sorted, int n, double q) {
        if (n == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(n - 1, (int) Math.ceil(q * n) - 1)];
    }

    private static String udp(int port) {
        return "aeron:udp?endpoint=127.0.0.1:" + port;
    }

    private static int freePort() {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // Best effort: the directory is under /dev/shm or the temp dir.
        }
    }
}
