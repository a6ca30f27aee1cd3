package dev.baton.bench.transfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A small run of the transfer benchmark: every transport completes its transfers and reports a row. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransferBenchmarkTest {

    @Test
    void shouldMeasureEveryTransportWithItsMemoryCopy() {
        TransferBenchmark bench = new TransferBenchmark(8L << 20, 1, 2, 4 << 20, 2 << 20);
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        List<TransferBenchmark.Row> rows = bench.run(List.of(TransferBenchmark.Transport.IPC,
                TransferBenchmark.Transport.IPC_BYTES, TransferBenchmark.Transport.UDP), List.of(65536), List.of(4),
                new PrintStream(progress, true, StandardCharsets.UTF_8));
        assertEquals(List.of("aeron-ipc", "aeron-ipc-bytes", "aeron-udp"),
                rows.stream().map(TransferBenchmark.Row::transport).toList());
        for (TransferBenchmark.Row r : rows) {
            assertEquals(65536, r.blockBytes());
            assertEquals(4, r.blocksPerTransfer());
            assertTrue(r.transfers() >= 4 && r.gbPerSecond() > 0 && r.memcpyGbPerSecond() > 0, r.toString());
            assertTrue(r.p50Micros() > 0 && r.p99Micros() >= r.p50Micros(), r.toString());
        }
        String table = TransferBenchmark.table(rows);
        assertTrue(table.contains("| aeron-ipc-bytes | 64 KiB | 4 |"), table);
    }

    @Test
    void shouldParseTransportNames() {
        assertEquals(TransferBenchmark.Transport.IPC_BYTES, TransferBenchmark.Transport.parse(" ipc-bytes"));
        assertEquals(TransferBenchmark.Transport.UDP, TransferBenchmark.Transport.parse("UDP"));
        assertThrows(IllegalArgumentException.class, () -> TransferBenchmark.Transport.parse("tcp"));
    }
}
