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
import java.util.SplittableRandom;

/**
 * Host tier transfer speed next to a plain memory copy of the same bytes (part of
 * {@code bin/baton bench transfer}). Self-contained: {@link #run} measures one configuration,
 * {@link #table} prints rows as Markdown.
 *
 * <p>A <em>transfer</em> of {@code n} blocks is what a same-host hand-off costs end to end: the
 * producer {@link HostTier#put puts} the {@code n} blocks from its buffers (copy in, CRC32C, index),
 * then the consumer {@link HostTier#get gets} them into its own buffers (index, copy out, CRC check).
 * Both run here, one after the other on one thread, so the figure is the sum of both sides. The
 * {@code put} and {@code get} columns give each side alone. The {@code streamed} column is a stream of
 * transfers the way two processes use the tier as a transport: a producer thread with a tier handle of
 * its own puts transfer after transfer (at most a few ahead, so none is evicted unread) while the
 * consumer gets each as soon as it is complete, both at once; it is the bytes of the whole stream over
 * its wall time, to be read next to the same memory copy (and next to {@code bin/baton bench transfer}'s
 * IPC figure, which also has its sender and receiver on two threads).
 *
 * <p>Every transfer uses new block hashes, and the tier holds eight transfers and at least 256 MiB
 * (out of cache, as a real tier is), so in the steady state every put evicts a block. The memory
 * copy moves the same {@code n} blocks from the same source buffers to other destination buffers
 * with {@link MemorySegment#copy}, one block at a time; when they fit in cache (one block, or
 * 64 x 16 KiB) it runs from cache while the tier's slots do not.
 *
 * <p>Host tier transfers and memory copies alternate (which one goes first alternates too), so both
 * see the same machine. Throughput is the bytes of one transfer (block bytes, counted once) over its
 * median time, in GB/s (10^9 bytes): on a shared machine the median shows the code's speed, while
 * preemptions land in the p99 latency. Each configuration first runs enough transfers to fill the
 * tier twice and for at least two seconds (for the JIT), then measures transfers moving about
 * {@code targetBytes}. Allocation is measured with {@code ThreadMXBean} over the measured loop. The
 * tier's files live under {@code directory} and are deleted afterwards.
 *
 * <p>Not thread-safe; one run at a time.
 */
public final class HostTierBenchmark {

    /** Block sizes of the standard run: 16 KiB, 256 KiB, 2 MiB. */
    public static final List<Long> BLOCK_BYTES = List.of(16L << 10, 256L << 10, 2L << 20);
    /** Blocks per transfer of the standard run. */
    public static final List<Integer> BLOCKS_PER_TRANSFER = List.of(1, 64);

    /**
     * One measured configuration.
     *
     * @param blockBytes         bytes per block
     * @param blocksPerTransfer  blocks per transfer
     * @param gbPerSecond        host tier transfer throughput (put then get) at the median, GB/s
     * @param p50Micros          median transfer latency, µs
     * @param p99Micros          99th percentile transfer latency, µs
     * @param putGbPerSecond     the put side alone at its median, GB/s
     * @param getGbPerSecond     the get side alone at its median, GB/s
     * @param memcpyGbPerSecond  plain memory copy of the same blocks, interleaved with the transfers, at its median, GB/s
     * @param memcpyP50Micros    median memory copy latency per transfer, µs
     * @param allocBytesPerBlock heap bytes allocated per block by put + get
     * @param transfers          measured transfers
     * @param streamedGbPerSecond a stream of transfers with the producer and the consumer on threads (and
     *                           tier handles) of their own, as two processes use the tier: bytes over the
     *                           wall time of the whole stream, GB/s
     */
    public record Row(long blockBytes, int blocksPerTransfer, double gbPerSecond, double p50Micros, double p99Micros,
            double putGbPerSecond, double getGbPerSecond, double memcpyGbPerSecond, double memcpyP50Micros,
            double allocBytesPerBlock, int transfers, double streamedGbPerSecond) {

        /** Host tier throughput (put then get) as a fraction of the memory copy's. */
        public double ratioToMemcpy() {
            return gbPerSecond / memcpyGbPerSecond;
        }

        /** Streamed host tier throughput as a fraction of the memory copy's. */
        public double streamedRatioToMemcpy() {
            return streamedGbPerSecond / memcpyGbPerSecond;
        }
    }

    private static final KvCompatibility COMPAT = new KvCompatibility(new ModelFingerprint(0xBA7, 0x0B), "F16", 16,
            "bench", 1, 1, 1, KvCompatibility.PROTOCOL_VERSION);

    private static final long WARMUP_NS = 2_000_000_000L;
    /** The tier is at least this big, so that its slots are out of cache as in a real deployment. */
    private static final long MIN_TIER_BYTES = 256L << 20;

    private final Path directory;
    private final long targetBytes;

    /**
     * @param directory   where the benchmark's tier files go (use a tmpfs such as /dev/shm for host-tier figures)
     * @param targetBytes bytes to move per measured configuration (more: steadier figures)
     */
    public HostTierBenchmark(Path directory, long targetBytes) {
        this.directory = directory;
        this.targetBytes = targetBytes;
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
        int slots = (int) Math.max(MIN_TIER_BYTES / blockBytes, 8L * blocks);
        int transfers = (int) Math.clamp(targetBytes / (blockBytes * blocks), 50, 100_000);
        int warmup = Math.max(20, 2 * slots / blocks);
        String name = "bench-" + ProcessHandle.current().pid() + "-" + blockBytes + "x" + blocks;
        HostTierSettings settings = HostTierSettings.of(directory, name, slots * blockBytes, blockBytes, COMPAT);
        try (Arena arena = Arena.ofShared(); HostTier tier = HostTier.open(settings)) {
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
            long warmDeadline = System.nanoTime() + WARMUP_NS;
            for (int t = 0; t < warmup || System.nanoTime() < warmDeadline; t++) {
                copyOnce(src, copyDst);
                transferOnce(tier, warm, (t % warmup) * blocks, src, dst, sideNs);
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
                transferOnce(tier, hashes, t * blocks, src, dst, sideNs);
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
            double streamed;
            try (HostTier reader = HostTier.open(settings)) {
                streamed = streamed(tier, reader, hashes(3, transfers * blocks), transfers, Math.max(1,
                        Math.min(4, slots / blocks / 2)), src, dst);
            }
            for (int i = 0; i < blocks; i++) {
                if (dst[i].mismatch(src[i]) != -1) {
                    throw new IllegalStateException("a streamed transfer delivered other bytes than were sent");
                }
            }
            double p50 = percentile(hostNs, 0.50);
            return new Row(blockBytes, blocks, bytes / p50, p50 / 1e3, percentile(hostNs, 0.99) / 1e3,
                    bytes / percentile(putNs, 0.50), bytes / percentile(getNs, 0.50),
                    bytes / percentile(copyNs, 0.50), percentile(copyNs, 0.50) / 1e3,
                    (double) alloc / (transfers * (long) blocks), transfers, streamed * bytes * transfers);
        } finally {
            HostTier.deleteFiles(directory, name);
        }
    }

    /**
     * A stream of {@code transfers} transfers: a producer thread puts each transfer's blocks through
     * {@code writer}, at most {@code window} transfers ahead of the consumer (so none is evicted
     * unread), while this thread gets each block through {@code reader} as soon as it is written, the
     * way a consumer following the producer's block announcements does. Returns the reciprocal of the
     * stream's wall time in ns (multiply by the bytes moved for bytes per ns = GB/s).
     */
    private static double streamed(HostTier writer, HostTier reader, BlockHash[] hashes, int transfers, int window,
            MemorySegment[] src, MemorySegment[] dst) {
        java.util.concurrent.atomic.AtomicInteger written = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger read = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> failure = new java.util.concurrent.atomic.AtomicReference<>();
        int blocks = src.length;
        Thread producer = Thread.ofPlatform().name("host-tier-producer").start(() -> {
            for (int t = 0; t < transfers && failure.get() == null; t++) {
                while (t - read.get() >= window && failure.get() == null) {
                    Thread.onSpinWait();
                }
                for (int i = 0; i < blocks; i++) {
                    PutResult r = writer.put(hashes[t * blocks + i], src[i]);
                    if (r != PutResult.STORED) {
                        failure.set("put: " + r);
                        return;
                    }
                    written.set(t * blocks + i + 1);
                }
            }
        });
        long t0 = System.nanoTime();
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
                    GetResult r = reader.get(hashes[block], dst[i]);
                    if (r != GetResult.HIT) {
                        throw new IllegalStateException("streamed get of transfer " + t + " block " + i + ": " + r);
                    }
                }
                read.set(t + 1);
            }
        } catch (RuntimeException e) {
            failure.compareAndSet(null, e.getMessage());
            throw e;
        } finally {
            try {
                producer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return 1.0 / (System.nanoTime() - t0);
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

    /** Puts then gets {@code src.length} blocks; adds the time of each side to {@code sideNs}. */
    private static void transferOnce(HostTier tier, BlockHash[] hashes, int first, MemorySegment[] src,
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
            GetResult r = tier.get(hashes[first + i], dst[i]);
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
        sb.append("| block | blocks/transfer | host tier GB/s | p50 µs | p99 µs | put GB/s | get GB/s "
                + "| memcpy GB/s | memcpy p50 µs | host tier / memcpy | streamed GB/s | streamed / memcpy | alloc B/block |\n");
        sb.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format("| %s | %d | %.2f | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %.0f%% | %.2f | %.0f%% | %.0f |%n",
                    size(r.blockBytes()), r.blocksPerTransfer(), r.gbPerSecond(), r.p50Micros(), r.p99Micros(),
                    r.putGbPerSecond(), r.getGbPerSecond(), r.memcpyGbPerSecond(), r.memcpyP50Micros(),
                    100 * r.ratioToMemcpy(), r.streamedGbPerSecond(), 100 * r.streamedRatioToMemcpy(),
                    r.allocBytesPerBlock()));
        }
        return sb.toString();
    }

    /**
     * Runs the standard configurations and prints the table (until {@code bin/baton bench transfer}
     * runs it). Arguments: [directory, default /dev/shm] [bytes per configuration, default 1 GiB].
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "/dev/shm").resolve("baton-host-tier-bench");
        long bytes = args.length > 1 ? Long.parseLong(args[1]) : 1L << 30;
        Files.createDirectories(dir);
        try {
            List<Row> rows = new HostTierBenchmark(dir, bytes).runAll(BLOCK_BYTES, BLOCKS_PER_TRANSFER, System.err);
            System.out.print(table(rows));
        } finally {
            Files.deleteIfExists(dir); // empty by now: each run deletes its tier's files
        }
    }
}
