package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/baton bench chaos} as a user runs it, bounded: a router, one prefill and two decode nodes started by the
 * command, 12 s of greedy streams, one SIGKILL of a decode node 6 s in and a fresh decode node in its place. The
 * report says every stream's text was the undisturbed one (no gap, no repeat), no KV block was left used once idle,
 * requests were served, and the fault has a rejoin and a recovery time; the exit status is 0.
 */
@Timeout(240)
class ChaosBenchIT {

    @Test
    void shouldKillAndReplaceADecodeNodeUnderLoadWithEveryStreamIntact(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("chaos");
        ProcessBuilder pb = new ProcessBuilder(NodeProcess.root().resolve("bin/baton").toString(), "bench", "chaos",
                "--model", DisaggregatedClusterIT.MODEL.toString(), "--prefill", "1", "--decode", "2", "--threads", "1",
                "--node-heap", "384m", "--duration", "12s", "--fault-every", "6s", "--faults", "kill", "--fault-roles", "decode",
                "--concurrency", "2", "--prompts", "6", "--input-len", "24", "--output-len", "48",
                "--cluster-port", Integer.toString(NodeProcess.freePort()), "--out", out.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("chaos.log").toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        pb.environment().put("BATON_JVM_OPTS", "-Xmx384m");
        Process p = pb.start();
        try {
            assertTrue(p.waitFor(200, TimeUnit.SECONDS), "bench chaos timed out");
        } finally {
            p.destroyForcibly();
        }
        String log = Files.readString(dir.resolve("chaos.log"), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), log);
        JsonNode r = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(0, r.get("gaps").asInt(), log);
        assertEquals(0, r.get("repeats").asInt(), log);
        assertEquals(0, r.get("different").asInt(), log);
        assertTrue(r.get("served").asInt() > 0, log);
        assertTrue(r.get("idle").asBoolean(), log);
        assertEquals(3, r.get("leakedBlocks").size(), "every node reported: " + log);
        r.get("leakedBlocks").forEach(n -> assertEquals(0, n.asInt(), log));
        JsonNode faults = r.get("faults");
        assertEquals(1, faults.size(), log);
        JsonNode fault = faults.get(0);
        assertEquals("kill", fault.at("/event/kind").asText());
        assertEquals("decode", fault.at("/event/role").asText());
        String replacement = fault.at("/event/replacement").asText();
        assertTrue(replacement.endsWith("-decode-3"), "a fresh decode node took its place: " + replacement);
        assertTrue(fault.at("/event/rejoinMs").asLong() > 0, log);
        assertTrue(fault.get("recoveryMs").asLong() >= 0, "no recovery time: " + log);
        assertTrue(r.get("migrations").has("node-lost"), "the router's migrations: " + log);
        assertTrue(log.contains("PASS"), log);
        assertTrue(Files.exists(out.resolve("logs/" + replacement + ".log")), "the nodes' logs are kept with the results");
    }
}
