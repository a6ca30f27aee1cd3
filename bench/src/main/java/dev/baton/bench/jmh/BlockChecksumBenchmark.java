package dev.baton.bench.jmh;

import dev.baton.kvtransfer.hosttier.Xxh3Copy;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Moving one KV block with an integrity checksum, the host tier's put and get: a plain
 * {@code MemorySegment.copy} (no checksum: the limit), a copy with a CRC32C of each 4 KiB right after
 * it (the same-host pull's way, and the host tier's before XXH3), and {@link Xxh3Copy} (copy and XXH3-64
 * in one pass, the host tier's way); also each checksum alone. {@code resident=cache}: the same source
 * and destination block every time (both in L2); {@code resident=memory}: blocks taken in turn from
 * 512 MiB of sources and 512 MiB of destinations, so every byte comes from and goes to DRAM, as a host
 * tier's slots do. Time per block; GB/s = block bytes / time.
 *
 * <pre>
 * bin/build -q -pl bench -am -DskipTests package
 * java --add-modules jdk.incubator.vector -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
 *     org.openjdk.jmh.Main BlockChecksumBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx512m"})
public class BlockChecksumBenchmark {

    @Param({"262144", "2097152"})
    public int blockBytes;

    @Param({"cache", "memory"})
    public String resident;

    private static final long MEMORY_BYTES = 512L << 20;
    private static final int CRC_CHUNK = 4096;

    private Arena arena;
    private MemorySegment[] sources;
    private MemorySegment[] destinations;
    private ByteBuffer[] destinationViews;
    private final CRC32C crc = new CRC32C();
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        int blocks = resident.equals("memory") ? (int) (MEMORY_BYTES / blockBytes) : 1;
        sources = new MemorySegment[blocks];
        destinations = new MemorySegment[blocks];
        destinationViews = new ByteBuffer[blocks];
        for (int i = 0; i < blocks; i++) {
            sources[i] = arena.allocate(blockBytes, 4096);
            destinations[i] = arena.allocate(blockBytes, 4096);
            for (long j = 0; j < blockBytes; j += 8) {
                sources[i].set(java.lang.foreign.ValueLayout.JAVA_LONG, j, j * 0x9E3779B97F4A7C15L + i);
            }
            destinations[i].fill((byte) 1); // touch every page
            destinationViews[i] = destinations[i].asByteBuffer();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    private int nextBlock() {
        int i = next;
        next = i + 1 == sources.length ? 0 : i + 1;
        return i;
    }

    @Benchmark
    public MemorySegment copy() {
        int i = nextBlock();
        MemorySegment.copy(sources[i], 0, destinations[i], 0, blockBytes);
        return destinations[i];
    }

    @Benchmark
    public long copyThenCrc32cPer4KiB() {
        int i = nextBlock();
        ByteBuffer view = destinationViews[i];
        crc.reset();
        for (int off = 0; off < blockBytes; off += CRC_CHUNK) {
            MemorySegment.copy(sources[i], off, destinations[i], off, CRC_CHUNK);
            view.limit(off + CRC_CHUNK).position(off);
            crc.update(view);
        }
        return crc.getValue();
    }

    @Benchmark
    public long copyAndXxh3() {
        int i = nextBlock();
        return Xxh3Copy.copyAndHash(sources[i], 0, destinations[i], 0, blockBytes);
    }

    @Benchmark
    public long crc32cOnly() {
        int i = nextBlock();
        ByteBuffer view = destinationViews[i];
        view.clear();
        crc.reset();
        crc.update(view);
        return crc.getValue();
    }

    @Benchmark
    public long xxh3Only() {
        int i = nextBlock();
        return Xxh3Copy.copyAndHash(destinations[i], 0, null, 0, blockBytes);
    }
}
