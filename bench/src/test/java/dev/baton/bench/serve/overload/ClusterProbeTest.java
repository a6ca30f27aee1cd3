package dev.baton.bench.serve.overload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterProbeTest {

    @Test
    void shouldReadRoleNodeIdAndMetricsPortFromACommandLine() {
        ClusterProbe.LocalProcess p = ClusterProbe.fromCommandLine(42, List.of("/usr/bin/java", "-Xmx1g", "-cp", "lib/*",
                "dev.baton.cli.Baton", "prefill", "--cluster-port", "25521", "--node-id", "prefill-1", "--metrics-port", "8001"));
        assertEquals(new ClusterProbe.LocalProcess("prefill-1", 42, URI.create("http://127.0.0.1:8001/metrics")), p);
        ClusterProbe.LocalProcess router = ClusterProbe.fromCommandLine(7, List.of("java", "dev.baton.cli.Baton", "router",
                "--port", "8000"));
        assertEquals(new ClusterProbe.LocalProcess("router", 7, null), router);
        assertNull(ClusterProbe.fromCommandLine(9, List.of("sleep", "100")));
    }

    @Test
    void shouldSumThePrefillCountersOfAPrometheusText() {
        String text = """
                # HELP baton_tokens_total
                # TYPE baton_tokens_total counter
                baton_tokens_total{node="p1",phase="decode"} 900.0
                baton_tokens_total{node="p1",phase="prefill"} 1024.0
                baton_tokens_total{node="p2",phase="prefill",role="x"} 2.0
                baton_other_total{phase="prefill"} 5.0
                """;
        assertEquals(OptionalLong.of(1026), ClusterProbe.prefilledTokens(text));
        assertEquals(OptionalLong.empty(), ClusterProbe.prefilledTokens("baton_tokens_total{phase=\"decode\"} 1.0\n"));
    }

    @Test
    void shouldReadVmRssOfAProcStatusText() {
        assertEquals(123456, ClusterProbe.vmRssKib("Name:\tjava\nVmPeak:\t  999 kB\nVmRSS:\t  123456 kB\nThreads: 3\n"));
        assertEquals(-1, ClusterProbe.vmRssKib("Name:\tkthreadd\n"));
    }

    @Test
    void shouldSkipProcessesThatAreNotBatonOrNotRunning(@TempDir Path dir) throws IOException {
        // this JVM is no Baton process: it is skipped; a pid that does not run is skipped too
        Path pids = Files.writeString(dir.resolve("pids"), ProcessHandle.current().pid() + "\n999999999\n");
        ClusterProbe probe = ClusterProbe.fromPidFile(pids, List.of(URI.create("http://127.0.0.1:1/metrics")));
        assertTrue(probe.processes().isEmpty());
        assertEquals(List.of(URI.create("http://127.0.0.1:1/metrics")), probe.metrics());
        assertTrue(probe.rssBytes().isEmpty());
        probe.close();
    }

    @Test
    void shouldReadTheResidentMemoryOfARunningProcess() {
        try (ClusterProbe probe = new ClusterProbe(List.of(new ClusterProbe.LocalProcess("me", ProcessHandle.current().pid(), null),
                new ClusterProbe.LocalProcess("gone", 999_999_999L, null)), List.of())) {
            assertEquals(java.util.Set.of("me"), probe.rssBytes().keySet());
            assertTrue(probe.rssBytes().get("me") > 0);
        }
    }
}
