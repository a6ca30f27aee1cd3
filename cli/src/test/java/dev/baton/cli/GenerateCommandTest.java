package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code baton generate} in-process, with its output captured. */
@Timeout(120)
class GenerateCommandTest {

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    static Path oracle() {
        return Path.of(System.getProperty("baton.oracle.dir"));
    }

    Run run(String... args) throws Exception {
        Path conf = dir.resolve("test.conf");
        Files.writeString(conf, "baton.engine.cache-dir = \"" + dir.resolve("cache") + "\"\nbaton.engine.kv-cache-bytes = 32MiB\n");
        List<String> all = new ArrayList<>(List.of(args));
        all.add(1, "--config=" + conf);
        CommandLine cl = Baton.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void shouldPrintTheGreedyTokensOfLlamaCppAsJson() throws Exception {
        Run r = run("generate", "--model", oracle().resolve("models/tiny-f32.gguf").toString(), "--prompt",
                "Once upon a time", "--max-tokens", "24", "--threads", "1", "--output", "json");
        assertEquals(0, r.exit, r.err);
        JsonNode json = new ObjectMapper().readTree(r.out);
        JsonNode ref = new ObjectMapper().readTree(oracle().resolve("ref/tiny-f32.json").toFile());
        assertEquals(ref.get("prompt_tokens"), json.get("prompt_token_ids"));
        assertEquals(ref.get("generated_tokens"), json.get("token_ids"));
        assertEquals(ref.get("generated_text").asText(), json.get("text").asText());
        assertEquals("length", json.get("finish_reason").asText());
        assertTrue(json.get("prompt_tokens_per_second").asDouble() > 0);
        assertTrue(json.get("decode_tokens_per_second").asDouble() > 0);
    }

    @Test
    void shouldReportColdStartTimingsInOrderWithTimings() throws Exception {
        Run r = run("generate", "--prompt", "Hello", "--max-tokens", "6", "--threads", "1", "--output", "json",
                "--timings");
        assertEquals(0, r.exit, r.err);
        JsonNode t = new ObjectMapper().readTree(r.out).get("timings");
        double command = t.get("command_s").asDouble();
        double open = t.get("engine_open_s").asDouble();
        double first = t.get("first_token_s").asDouble();
        double last = t.get("last_token_s").asDouble();
        assertTrue(command > 0 && command <= open && open < first && first < last, t.toString());
        long startMs = t.get("jvm_start_epoch_ms").asLong();
        assertTrue(startMs <= System.currentTimeMillis() - (long) (last * 1000) + 1, t.toString());
        assertTrue(r.err.contains("first token") && r.err.contains("6 tokens"), r.err);
        assertTrue(!run("generate", "--prompt", "Hello", "--max-tokens", "2").err.contains("timings"));
    }

    @Test
    void shouldUseTheDemoModelWhenNoneIsGivenAndSayItIsRandom() throws Exception {
        Run r = run("generate", "--prompt", "Hello", "--max-tokens", "5", "--threads", "1");
        assertEquals(0, r.exit, r.err);
        assertTrue(r.err.contains("demo model") && r.err.contains("random weights"), r.err);
        assertTrue(Files.exists(dir.resolve("cache/baton-demo-v1.gguf")));
        assertTrue(r.err.contains("5 generated"), r.err);
    }

    @Test
    void shouldApplyTheChatTemplateWithChat() throws Exception {
        Run plain = run("generate", "--model", oracle().resolve("models/tiny-f32.gguf").toString(), "--prompt", "Hi",
                "--max-tokens", "3", "--output", "json");
        Run chat = run("generate", "--model", oracle().resolve("models/tiny-f32.gguf").toString(), "--prompt", "Hi",
                "--chat", "--max-tokens", "3", "--output", "json");
        assertEquals(0, chat.exit, chat.err);
        JsonNode p = new ObjectMapper().readTree(plain.out).get("prompt_token_ids");
        JsonNode c = new ObjectMapper().readTree(chat.out).get("prompt_token_ids");
        assertTrue(c.size() > p.size() + 3, "chat prompt should carry the template's markers: " + c);
        boolean hasImStart = false;
        for (JsonNode t : c) {
            hasImStart |= t.asInt() == 510; // <|im_start|> in the tiny vocabulary
        }
        assertTrue(hasImStart, "rendered ChatML must be tokenized with its special tokens: " + c);
    }

    @Test
    void shouldExplainAMissingModelFile() throws Exception {
        Run r = run("generate", "--model", dir.resolve("nope.gguf").toString(), "--prompt", "x");
        assertEquals(1, r.exit);
        assertTrue(r.err.contains("nope.gguf") && r.err.contains("not found"), r.err);
        assertTrue(!r.err.contains("\tat "), "no stack trace: " + r.err);
    }

    @Test
    void shouldExplainACorruptModelFile() throws Exception {
        Path bad = dir.resolve("bad.gguf");
        byte[] head = Files.readAllBytes(oracle().resolve("models/tiny-f32.gguf"));
        Files.write(bad, java.util.Arrays.copyOf(head, 5000));
        Run r = run("generate", "--model", bad.toString(), "--prompt", "x");
        assertEquals(1, r.exit);
        assertTrue(r.err.contains("truncated"), r.err);
    }

    @Test
    void shouldRejectOutOfRangeSamplingParameters() throws Exception {
        Run r = run("generate", "--model", oracle().resolve("models/tiny-f32.gguf").toString(), "--prompt", "x",
                "--temperature", "7");
        assertEquals(1, r.exit);
        assertTrue(r.err.contains("temperature"), r.err);
    }
}
