package dev.baton.bench.transfer;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import dev.baton.kvtransfer.hosttier.GetResult;
import dev.baton.kvtransfer.hosttier.HostTier;
import dev.baton.kvtransfer.hosttier.HostTierSettings;
import dev.baton.kvtransfer.hosttier.PutResult;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Host tier transfer speed next to a plain memory copy of the same bytes (the host tier rows of
 * {@code bin/baton bench transfer}). {@link #run} measures one configuration, {@link #table} prints
 * rows as Markdown.
 *
 * <p>A <em>transfer</em> of {@code n} blocks is what a same-host hand-off costs end to end: the
 * producer {@link HostTier#put puts} the {@code n} blocks from its buffers (copy in, CRC32C, index),
 * then the consumer {@link HostTier#get gets} them into its own buffers (index, copy out, CRC check).
 *
 * <ul>
 *   <li><em>Serial</em>: both sides one after the other on one thread, so the figure is the sum of both
 *       (two copies: it cannot pass 50% of the memory copy). The {@code put} and {@code get} columns
 *       give each side alone. Host tier transfers and memory copies alternate (which one goes first
 *       alternates too), so both see the same machine; throughput is the bytes of one transfer over
 *       its median time, and preemptions land in the p99 latency.</li>
 *   <li><em>Streamed</em>: the way two processes use the tier as a transport. A producer thread with
 *       a tier handle of its own puts transfer after transfer (at most a few ahead, so none is evicted
 *       unread) while the consumer gets each block as soon as it is written, both at once. Measured in
 *       {@value #STREAM_ROUNDS} rounds; each round times, back to back and in an order that rotates,
 *       a stream of plain memory copies of the same transfers, the host tier stream, and a stream of
 *       <em>two plain copies</em> through a ring of slots in the same two-thread pattern (no CRC, no
 *       index: the ceiling of any store that copies in and out on this machine). Each is the bytes of
 *       a round over its median round time.</li>
 * </ul>
 *
 * <p>Every transfer uses new block hashes, and the tier holds eight transfers and at least 256 MiB
 * (out of cache, as a real tier is), so in the steady state every put evicts a block. The memory
 * copy moves the same {@code n} blocks from the same source buffers to other destination buffers
 * with {@link MemorySegment#copy}, one block at a time; when they fit in cache (one block, or
 * 64 x 16 KiB) it runs from cache while the tier's slots do not, so those ratios understate the tier.
 * Each configuration first runs enough transfers to fill the tier twice and for at least two seconds
 * (for the JIT). Allocation is measured with {@code ThreadMXBean} over the serial loop. The tier's
 * files live under {@code directory} and are deleted afterwards.
 *
 * <p>Not thread-safe; one run at a time.
 */
public final class HostTierBenchmark {

    /**
     * One measured configuration.
     *
     * @param blockBytes          bytes per block
     * @param blocksPerTransfer   blocks per transfer
     * @param gbPerSecond         serial host tier transfer throughput (put then get) at the median, GB/s
     * @param p50Micros           median serial transfer latency, µs
     * @param p99Micros           99th percentile serial transfer latency, µs
     * @param putGbPerSecond      the put side alone at its median, GB/s
     * @param getGbPerSecond      the get side alone at its median, GB/s
     * @param memcpyGbPerSecond   plain memory copy of the same blocks, interleaved with the serial transfers, GB/s
     * @param memcpyP50Micros     median memory copy latency per transfer, µs
     * @param allocBytesPerBlock  heap bytes allocated per block by put + get
     * @param transfers           measured serial transfers
     * @param streamedGbPerSecond the streamed host tier: producer and consumer on threads (and tier
     *                            handles) of their own, as two processes use the tier, GB/s
     * @param streamedMemcpyGbPerSecond plain memory copies of the same transfers, timed in the same rounds, GB/s
     * @param twoCopiesGbPerSecond two plain copies (into a ring of slots and out) in the streamed pattern,
     *                            timed in the same rounds: the ceiling of a store that copies in and out, GB/s
     * @param streamedTransfers   transfers of each streamed kind over all rounds
     */
    public record Row(long blockBytes, int blocksPerTransfer, double gbPerSecond, double p50Micros, double p99Micros,
            double putGbPerSecond, double getGbPerSecond, double memcpyGbPerSecond, double memcpyP50Micros,
            double allocBytesPerBlock, int transfers, double streamedGbPerSecond, double streamedMemcpyGbPerSecond,
            double twoCopiesGbPerSecond, int streamedTransfers) {

        /** Serial host tier throughput (put then get) as a fraction of the memory copy's. */
        public double ratioToMemcpy() {
            return gbPerSecond / memcpyGbPerSecond;
        }

        /** Streamed host tier throughput as a fraction of the memory copy's in the same rounds. */
        public double streamedRatioToMemcpy() {
            return streamedGbPerSecond / streamedMemcpyGbPerSecond;
        }

        /** Two plain copies in the streamed pattern as a fraction of the memory copy's in the same rounds. */
        public double twoCopiesRatioToMemcpy() {
            return twoCopiesGbPerSecond / streamedMemcpyGbPerSecond;
        }
    }

    private static final KvCompatibility COMPAT = new KvCompatibility(new ModelFingerprint(0xBA7, 0x0B), "F16", 16,
            "bench", 1, 1, 1, KvCompatibility.PROTOCOL_VERSION);

    /** Rounds of the streamed measurement. */
    static final int STREAM_ROUNDS = 9;
    /** Rounds run before them, not measured (the JIT compiles the two-thread paths). */
    static final int STREAM_WARMUP_ROUNDS = 2;
    private static final long WARMUP_NS = 2_000_000_000L;
    /** Puts and gets of the warm-up at least. */
    private static final int WARMUP_CALLS = 8_000;
    /** The tier is at least this big, so that its slots are out of cache as in a real deployment. */
    private static final long MIN_TIER_BYTES = 256L << 20;

    private final Path directory;
    private final long targetBytes;
    private final long minTierBytes;
    private final long warmupNs;

    /**
     * @param directory   where the benchmark's tier files go (use a tmpfs such as /dev/shm for host-tier figures)
     * @param targetBytes bytes to move per measured configuration (more: steadier figures)
     */
    public HostTierBenchmark(Path directory, long targetBytes) {
        this(directory, targetBytes, MIN_TIER_BYTES, WARMUP_NS);
    }

    /** For tests: a smaller tier (in cache, so the figures mean little) and a shorter warm-up. */
    HostTierBenchmark(Path directory, long targetBytes, long minTierBytes, long warmupNs) {
        if (targetBytes < 1 || minTierBytes < 1 || warmupNs < 0) {
            throw new IllegalArgumentException("targetBytes and minTierBytes must be positive, warmupNs not negative");
        }
        this.directory = directory;
        this.targetBytes = targetBytes;
        this.minTierBytes = minTierBytes;
        this.warmupNs = warmupNs;
    }

    /** Measures every block size with every transfer size. */
    public List<Row> runAll(List<Long> blockSizes, List<Integer> blockCounts, PrintStream progress) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (long b : blockSizes) {
            for (int n : blockCounts) {
                progress.printf("baton bench transfer: host tier, %s blocks x %d...%n", size(b), n);
                rows.add(run(b, n));
            }
        }
        return rows;
    }

    /**
     * Measures one configuration: transfers over the host tier and memory copies of the same blocks,
     * interleaved (alternating which goes first) so that both see the same machine.
     */
    public Row run(long blockBytes, int blocks) throws IOException {
        int slots = (int) Math.max(minTierBytes / blockBytes, 8L * blocks);
        int transfers = (int) Math.clamp(targetBytes / (blockBytes * blocks), 50, 100_000);
        // Fill the tier twice, and call put and get often enough for the JIT's last tier (a few
        // thousand calls: with 2 MiB blocks that takes well over the two seconds).
        int warmup = Math.max(Math.max(20, 2 * slots / blocks), (WARMUP_CALLS + blocks - 1) / blocks);
        String name = "bench-" + ProcessHandle.current().pid() + "-" + blockBytes + "x" + blocks;
        HostTierSettings settings = HostTierSettings.of(directory, name, slots * blockBytes, blockBytes, COMPAT);
        long free = Files.getFileStore(directory).getUsableSpace();
        if (free < slots * blockBytes + (64L << 20)) {
            // A tmpfs that runs out of pages under a mapping kills the process (SIGBUS): refuse first.
            throw new IOException(directory + " has " + (free >> 20) + " MiB free; the host tier rows of "
                    + size(blockBytes) + " blocks need " + ((slots * blockBytes) >> 20) + " MiB and 64 MiB to spare "
                    + "(choose another --host-tier-dir, or leave host-tier out of --transports)");
        }
        try (Arena arena = Arena.ofShared(); HostTier tier = HostTier.open(settings);
                HostTier reader = HostTier.open(settings)) {
            MemorySegment[] src = blocks(arena, blocks, blockBytes);
            MemorySegment[] dst = blocks(arena, blocks, blockBytes);
            MemorySegment[] copyDst = blocks(arena, blocks, blockBytes);
            SplittableRandom random = new SplittableRandom(42);
            for (MemorySegment s : src) {
                for (long i = 0; i < blockBytes; i += 8) {
                    s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
                }
            }
            // Warm-up: fill the tier twice (every later put evicts) and run for two seconds, so the JIT
            // has compiled Chronicle Map's query paths before anything is measured.
            long[] sideNs = new long[2];
            BlockHash[] warm = hashes(1, warmup * blocks);
            long warmDeadline = System.nanoTime() + warmupNs;
            for (int t = 0; t < warmup || System.nanoTime() < warmDeadline; t++) {
                copyOnce(src, copyDst);
                transferOnce(tier, reader, warm, (t % warmup) * blocks, src, dst, sideNs);
                if (t % warmup == warmup - 1) {
                    warm = hashes(1000L + t, warmup * blocks); // fresh hashes: every warm-up put stores
                }
            }

            BlockHash[] hashes = hashes(2, transfers * blocks);
            long[] copyNs = new long[transfers];
            long[] putNs = new long[transfers];
            long[] getNs = new long[transfers];
            long[] hostNs = new long[transfers];
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long thread = Thread.currentThread().threadId();
            long alloc0 = mx.getThreadAllocatedBytes(thread);
            for (int t = 0; t < transfers; t++) {
                long c0 = 0;
                long c1 = 0;
                if ((t & 1) == 0) {
                    c0 = System.nanoTime();
                    copyOnce(src, copyDst);
                    c1 = System.nanoTime();
                }
                sideNs[0] = 0;
                sideNs[1] = 0;
                transferOnce(tier, reader, hashes, t * blocks, src, dst, sideNs);
                if ((t & 1) == 1) {
                    c0 = System.nanoTime();
                    copyOnce(src, copyDst);
                    c1 = System.nanoTime();
                }
                copyNs[t] = c1 - c0;
                putNs[t] = sideNs[0];
                getNs[t] = sideNs[1];
                hostNs[t] = sideNs[0] + sideNs[1];
            }
            long alloc = mx.getThreadAllocatedBytes(thread) - alloc0;
            for (int i = 0; i < blocks; i++) {
                if (dst[i].mismatch(src[i]) != -1 || copyDst[i].mismatch(src[i]) != -1) {
                    throw new IllegalStateException("a transfer delivered other bytes than were sent");
                }
            }
            double bytes = (double) blockBytes * blocks;
            int window = Math.max(1, Math.min(4, slots / blocks / 2));
            int perRound = Math.max(2, (transfers + STREAM_ROUNDS - 1) / STREAM_ROUNDS);
            int ringSlots = (int) Math.max((window + 1L) * blocks, minTierBytes / blockBytes);
            MemorySegment[] ring = blocks(arena, ringSlots, blockBytes); // pages touched; the rounds' warm-up does the rest
            double[] streamNs = streamedRounds(tier, reader, perRound, window, src, dst, copyDst, ring);
            for (int i = 0; i < blocks; i++) {
                if (dst[i].mismatch(src[i]) != -1) {
                    throw new IllegalStateException("a streamed transfer delivered other bytes than were sent");
                }
            }
            double p50 = percentile(hostNs, 0.50);
            double roundBytes = bytes * perRound;
            return new Row(blockBytes, blocks, bytes / p50, p50 / 1e3, percentile(hostNs, 0.99) / 1e3,
                    bytes / percentile(putNs, 0.50), bytes / percentile(getNs, 0.50),
                    bytes / percentile(copyNs, 0.50), percentile(copyNs, 0.50) / 1e3,
                    (double) alloc / (transfers * (long) blocks), transfers, roundBytes / streamNs[1],
                    roundBytes / streamNs[0], roundBytes / streamNs[2], perRound * STREAM_ROUNDS);
        } finally {
            HostTier.deleteFiles(directory, name);
        }
    }

    /**
     * The streamed measurement: {@link #STREAM_ROUNDS} rounds (after {@link #STREAM_WARMUP_ROUNDS} not
     * measured), each timing three streams of
     * {@code perRound} transfers back to back in an order that rotates from round to round: plain
     * memory copies, the host tier, and two plain copies through a ring of slots (the ceiling of any
     * store that copies in and out). Returns the median round time of each, in ns: {memcpy, tier, two copies}.
     */
    private static double[] streamedRounds(HostTier writer, HostTier reader, int perRound, int window,
            MemorySegment[] src, MemorySegment[] dst, MemorySegment[] copyDst, MemorySegment[] ring) {
        int blocks = src.length;
        long[][] ns = new long[3][STREAM_ROUNDS];
        for (int round = -STREAM_WARMUP_ROUNDS; round < STREAM_ROUNDS; round++) {
            BlockHash[] hashes = hashes(100L + round, perRound * blocks);
            for (int k = 0; k < 3; k++) {
                int which = (round + k) % 3;
                long t0 = System.nanoTime();
                switch (which) {
                    case 0 -> {
                        for (int t = 0; t < perRound; t++) {
                            copyOnce(src, copyDst);
                        }
                    }
                    case 1 -> stream(perRound, window, blocks, block -> {
                        PutResult r = writer.put(hashes[block], src[block % blocks]);
                        return r == PutResult.STORED ? null : "put of block " + block + ": " + r;
                    }, block -> {
                        GetResult r = reader.get(hashes[block], dst[block % blocks]);
                        if (r != GetResult.HIT) {
                            throw new IllegalStateException("streamed get of block " + block + ": " + r);
                        }
                    });
                    default -> stream(perRound, window, blocks, block -> {
                        MemorySegment.copy(src[block % blocks], 0, ring[block % ring.length], 0, src[0].byteSize());
                        return null;
                    }, block -> MemorySegment.copy(ring[block % ring.length], 0, dst[block % blocks], 0,
                            src[0].byteSize()));
                }
                if (round >= 0) {
                    ns[which][round] = System.nanoTime() - t0;
                }
            }
        }
        return new double[] {percentile(ns[0], 0.5), percentile(ns[1], 0.5), percentile(ns[2], 0.5)};
    }

    /** The producer side of a stream: handles one block, returns null or what went wrong. */
    private interface Producer {
        String produce(int block);
    }

    /** The consumer side of a stream: handles one block, throws when it cannot. */
    private interface Consumer {
        void consume(int block);
    }

    /**
     * A stream of {@code transfers} transfers of {@code blocks} blocks: a producer thread produces block
     * after block, at most {@code window} transfers ahead of the consumer (so none is overwritten or
     * evicted unread), while this thread consumes each block as soon as it is produced, the way a
     * consumer following the producer's block announcements does. Spin-waits on both sides.
     */
    private static void stream(int transfers, int window, int blocks, Producer producer, Consumer consumer) {
        AtomicInteger written = new AtomicInteger();
        AtomicInteger read = new AtomicInteger();
        AtomicReference<String> failure = new AtomicReference<>();
        Thread thread = Thread.ofPlatform().name("host-tier-producer").start(() -> {
            for (int t = 0; t < transfers && failure.get() == null; t++) {
                while (t - read.get() >= window && failure.get() == null) {
                    Thread.onSpinWait();
                }
                for (int i = 0; i < blocks; i++) {
                    String problem = producer.produce(t * blocks + i);
                    if (problem != null) {
                        failure.set(problem);
                        return;
                    }
                    written.set(t * blocks + i + 1);
                }
            }
        });
        try {
            for (int t = 0; t < transfers; t++) {
                for (int i = 0; i < blocks; i++) {
                    int block = t * blocks + i;
                    while (written.get() <= block) {
                        if (failure.get() != null) {
                            throw new IllegalStateException(failure.get());
                        }
                        Thread.onSpinWait();
                    }
                    consumer.consume(block);
                }
                read.set(t + 1);
            }
        } catch (RuntimeException e) {
            failure.compareAndSet(null, String.valueOf(e.getMessage()));
            throw e;
        } finally {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static MemorySegment[] blocks(Arena arena, int n, long bytes) {
        MemorySegment[] b = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            b[i] = arena.allocate(bytes, 4096);
            b[i].fill((byte) 1); // touch every page before measuring
        }
        return b;
    }

    private static BlockHash[] hashes(long seed, int n) {
        BlockHash[] h = new BlockHash[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            h[i] = new BlockHash(r.nextLong(), r.nextLong());
        }
        return h;
    }

    private static void copyOnce(MemorySegment[] src, MemorySegment[] dst) {
        for (int i = 0; i < src.length; i++) {
            MemorySegment.copy(src[i], 0, dst[i], 0, src[i].byteSize());
        }
    }

    /**
     * Puts {@code src.length} blocks through {@code tier}, then gets them through {@code reader} (another
     * handle, as another process has); adds the time of each side to {@code sideNs}.
     */
    private static void transferOnce(HostTier tier, HostTier reader, BlockHash[] hashes, int first, MemorySegment[] src,
            MemorySegment[] dst, long[] sideNs) {
        long t0 = System.nanoTime();
        for (int i = 0; i < src.length; i++) {
            PutResult r = tier.put(hashes[first + i], src[i]);
            if (r != PutResult.STORED) {
                throw new IllegalStateException("put: " + r);
            }
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < dst.length; i++) {
            GetResult r = reader.get(hashes[first + i], dst[i]);
            if (r != GetResult.HIT) {
                throw new IllegalStateException("get: " + r);
            }
        }
        sideNs[0] += t1 - t0;
        sideNs[1] += System.nanoTime() - t1;
    }

    private static double percentile(long[] values, double p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.round(p * (sorted.length - 1)))];
    }

    private static String size(long bytes) {
        return bytes >= (1 << 20) ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
    }

    /** A Markdown table of the rows. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| block | blocks/transfer | memcpy GB/s | serial GB/s | serial / memcpy | p50 µs | p99 µs | put GB/s "
                + "| get GB/s | streamed GB/s | memcpy GB/s (same rounds) | streamed / memcpy | two copies / memcpy "
                + "| alloc B/block |\n");
        sb.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT,
                    "| %s | %d | %.2f | %.2f | %.0f%% | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.0f%% | %.0f |%n",
                    size(r.blockBytes()), r.blocksPerTransfer(), r.memcpyGbPerSecond(), r.gbPerSecond(),
                    100 * r.ratioToMemcpy(), r.p50Micros(), r.p99Micros(), r.putGbPerSecond(), r.getGbPerSecond(),
                    r.streamedGbPerSecond(), r.streamedMemcpyGbPerSecond(), 100 * r.streamedRatioToMemcpy(),
                    100 * r.twoCopiesRatioToMemcpy(), r.allocBytesPerBlock()));
        }
        return sb.toString();
    }

    /**
     * Measures every block size with every transfer size in a fresh directory under {@code parent}
     * (a tmpfs such as /dev/shm, as the nodes' tier), deleted afterwards.
     */
    public static List<Row> runIn(Path parent, long targetBytes, List<Long> blockSizes, List<Integer> blockCounts,
            PrintStream progress) throws IOException {
        Path dir = parent.resolve("baton-host-tier-bench-" + ProcessHandle.current().pid());
        Files.createDirectories(dir);
        try {
            return new HostTierBenchmark(dir, targetBytes).runAll(blockSizes, blockCounts, progress);
        } finally {
            Files.deleteIfExists(dir); // empty by now: each run deletes its tier's files
        }
    }
}
