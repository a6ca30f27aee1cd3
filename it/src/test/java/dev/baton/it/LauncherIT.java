package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The real {@code bin/baton} script, as a user runs it, on the distribution the build made. */
@Timeout(180)
class LauncherIT {

    static Path root() {
        return Path.of(System.getProperty("baton.home")).toAbsolutePath().normalize();
    }

    @Test
    void shouldGenerateWithTheDemoModelThroughBinBaton(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("it.conf");
        Files.writeString(conf, "baton.engine.cache-dir = \"" + dir + "\"\nbaton.engine.kv-cache-bytes = 32MiB\n");
        ProcessBuilder pb = new ProcessBuilder(root().resolve("bin/baton").toString(), "generate", "--config", conf.toString(),
                "--prompt", "Once upon a time", "--max-tokens", "16", "--threads", "1", "--output", "json")
                .redirectError(dir.resolve("err.log").toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        pb.environment().put("BATON_JVM_OPTS", "-Xmx512m");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String err = Files.readString(dir.resolve("err.log"));
        assertEquals(0, p.exitValue(), err);
        JsonNode json = new ObjectMapper().readTree(out);
        assertEquals(16, json.get("token_ids").size());
        assertTrue(json.get("demo_model").asBoolean());
        assertEquals(json.get("prompt_tokens").asInt(), json.get("prompt_token_ids").size());
        assertTrue(err.contains("random weights"), err);
    }
}
