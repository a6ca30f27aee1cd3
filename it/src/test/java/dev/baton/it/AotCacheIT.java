package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM's AOT cache through the real {@code bin/baton}: the build wrote one for the distribution, the launcher
 * hands it to the JVM (classes come from it), and a missing or damaged cache leaves Baton running as before, silently.
 */
@Timeout(180)
class AotCacheIT {

    private static final Path DIST_CACHE = LauncherIT.root().resolve("cli/target/dist/baton.aot");
    private static final String FROM_CACHE = "dev.baton.engine.Engine source: shared objects file";

    @BeforeEach
    void needsTheCache() {
        Assumptions.assumeFalse("off".equals(System.getProperty("baton.aot")),
                "built with -Dbaton.aot=off: the distribution has no AOT cache to test");
    }

    /** {@code bin/baton generate} with the demo model; returns its class-loading log. */
    private static String generate(Path dir, String name, Path cache) throws Exception {
        Path conf = dir.resolve("it.conf");
        Files.writeString(conf, "baton.engine.cache-dir = \"" + dir + "\"\nbaton.engine.kv-cache-bytes = 32MiB\n");
        Path classes = dir.resolve(name + "-classes.log");
        Path err = dir.resolve(name + "-err.log");
        ProcessBuilder pb = new ProcessBuilder(LauncherIT.root().resolve("bin/baton").toString(), "generate", "--config",
                conf.toString(), "--prompt", "Once upon a time", "--max-tokens", "4", "--threads", "1", "--output", "json")
                .redirectError(err.toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        pb.environment().put("BATON_JVM_OPTS", "-Xmx512m -Xlog:class+load=info:file=" + classes);
        pb.environment().put("BATON_AOT_CACHE", cache.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String stderr = Files.readString(err);
        assertEquals(0, p.exitValue(), stderr);
        JsonNode json = new ObjectMapper().readTree(out);
        assertEquals(4, json.get("token_ids").size());
        assertFalse(stderr.contains("[aot") || stderr.contains("[cds") || stderr.contains("AOT cache"),
                "the launcher must not pass on the JVM's AOT messages: " + stderr);
        return Files.readString(classes);
    }

    @Test
    void shouldLoadBatonClassesFromTheCacheTheBuildWrote(@TempDir Path dir) throws Exception {
        assertTrue(Files.size(DIST_CACHE) > 0 && Files.isRegularFile(DIST_CACHE.resolveSibling("baton.aot.key")),
                "the cli module's package phase writes " + DIST_CACHE + " (see its baton.aot.log)");
        assertTrue(generate(dir, "cached", DIST_CACHE).contains(FROM_CACHE), "Engine not loaded from the AOT cache");
    }

    @Test
    void shouldRunWithoutACacheOrWithADamagedOne(@TempDir Path dir) throws Exception {
        String absent = generate(dir, "absent", dir.resolve("none.aot"));
        assertTrue(absent.contains("dev.baton.engine.Engine source: jar:") || absent.contains("dev.baton.engine.Engine source: file:"),
                "Engine should come from its jar without a cache");

        // a copy of the real cache with its (matching) key, its header then damaged: the JVM gets the file and
        // must refuse it by its checksum, not crash
        Path damaged = dir.resolve("damaged.aot");
        Files.copy(DIST_CACHE, damaged);
        Files.copy(DIST_CACHE.resolveSibling("baton.aot.key"), dir.resolve("damaged.aot.key"));
        try (RandomAccessFile f = new RandomAccessFile(damaged.toFile(), "rw")) {
            f.seek(100);
            f.write("damaged!".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        assertFalse(generate(dir, "damaged", damaged).contains(FROM_CACHE), "a damaged cache must not be used");
    }
}
