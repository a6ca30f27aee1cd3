package dev.baton.bench.transfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small run of the host tier benchmark (a 4 MiB tier, so the figures mean nothing): every kind of
 * measurement completes (the benchmark itself checks that every transfer delivered the bytes sent),
 * reports positive figures, and leaves no tier files behind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HostTierBenchmarkTest {

    @Test
    void shouldMeasureSerialAndStreamedTransfersNextToTheMemoryCopy(@TempDir Path dir) throws IOException {
        HostTierBenchmark bench = new HostTierBenchmark(dir, 8L << 20, 4L << 20, 0);
        List<HostTierBenchmark.Row> rows = bench.runAll(List.of(65536L), List.of(1, 4), System.err);
        assertEquals(2, rows.size());
        for (HostTierBenchmark.Row r : rows) {
            assertEquals(65536, r.blockBytes());
            assertTrue(r.transfers() >= 50, r.toString());
            assertEquals(0, r.streamedTransfers() % HostTierBenchmark.STREAM_ROUNDS, r.toString());
            assertTrue(r.streamedTransfers() >= 2 * HostTierBenchmark.STREAM_ROUNDS, r.toString());
            assertTrue(r.gbPerSecond() > 0 && r.putGbPerSecond() > 0 && r.getGbPerSecond() > 0
                    && r.memcpyGbPerSecond() > 0, r.toString());
            assertTrue(r.streamedGbPerSecond() > 0 && r.streamedMemcpyGbPerSecond() > 0 && r.twoCopiesGbPerSecond() > 0,
                    r.toString());
            assertTrue(r.p50Micros() > 0 && r.p99Micros() >= r.p50Micros(), r.toString());
        }
        assertEquals(4, rows.get(1).blocksPerTransfer());
        String table = HostTierBenchmark.table(rows);
        assertTrue(table.contains("| 64 KiB | 4 |"), table);
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "tier files deleted");
        }
    }
}
