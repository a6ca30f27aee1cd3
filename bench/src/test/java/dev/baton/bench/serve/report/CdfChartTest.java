package dev.baton.bench.serve.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CdfChartTest {

    static Path results(Path dir, String name, String requests) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, "{\"results\":[{\"target\":{\"name\":\"t\"},\"points\":[{\"load\":\"rate=1/s\",\"requests\":["
                + requests + "]}]}]}");
        return f;
    }

    @Test
    void shouldDrawOneChartFromSeveralRunsOfCompletedRequests(@TempDir Path dir) throws Exception {
        Map<String, Path> runs = new LinkedHashMap<>();
        runs.put("a", results(dir, "a.json", "{\"ok\":true,\"ttftMs\":12.5},{\"ok\":false,\"ttftMs\":null},{\"ok\":true,\"ttftMs\":3}"));
        runs.put("b", results(dir, "b.json", "{\"ok\":true,\"ttftMs\":40}"));
        Path png = dir.resolve("ttft.png");
        CdfChart.write(runs, "ttftMs", true, png);
        byte[] head = Arrays.copyOf(Files.readAllBytes(png), 4);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, "a PNG file");
        assertTrue(Files.size(png) > 1000);
    }

    @Test
    void shouldRefuseRunsWithoutACompletedRequest(@TempDir Path dir) throws Exception {
        Map<String, Path> runs = Map.of("a", results(dir, "a.json", "{\"ok\":false,\"ttftMs\":null}"));
        IOException e = assertThrows(IOException.class, () -> CdfChart.write(runs, "ttftMs", false, dir.resolve("x.png")));
        assertTrue(e.getMessage().contains("no completed request with a ttftMs"), e.getMessage());
    }
}
