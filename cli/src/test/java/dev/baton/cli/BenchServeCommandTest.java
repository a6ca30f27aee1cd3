package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.bench.serve.ScriptedOpenAiServer;
import dev.baton.bench.serve.ScriptedOpenAiServer.Script;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code baton bench serve}, {@code bench --compare} and {@code bench profile} in-process against scripted servers. */
@Timeout(60)
class BenchServeCommandTest {

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Baton.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static ScriptedOpenAiServer server(long ttftMs) throws Exception {
        return new ScriptedOpenAiServer(b -> Script.ok(ttftMs, 5, b.get("max_tokens").asInt()));
    }

    @Test
    void shouldCompareTwoTargetsOverARateSweepAndWriteEveryOutput() throws Exception {
        try (ScriptedOpenAiServer fast = server(10); ScriptedOpenAiServer slow = server(40)) {
            Path out = dir.resolve("out");
            Run r = run("bench", "--compare", "fast=" + fast.baseUrl(), "slow=" + slow.baseUrl() + ",nodes=2",
                    "--rate", "20,inf", "--requests", "6", "--input-len", "8", "--output-len", "uniform:3:5",
                    "--slo", "ttft=25ms", "--warmup", "1", "--out", out.toString(), "--charts", "png");
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("fast") && r.out().contains("slow") && r.out().contains("rate=inf"), r.out());
            for (String f : List.of("results.json", "summary.csv", "requests.csv", "report.html", "pareto.png", "ttft-cdf.png")) {
                assertTrue(Files.size(out.resolve(f)) > 0, f);
            }
            JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
            assertEquals(2, json.get("results").size());
            JsonNode slowInf = json.get("results").get(1).get("points").get(1);
            assertEquals("rate=inf", slowInf.get("load").asText());
            assertEquals(6, slowInf.get("summary").get("completed").asInt());
            assertEquals(0.0, slowInf.get("summary").get("goodput").asDouble(), 0, "TTFT 40 ms never meets 25 ms");
            assertEquals(2, json.get("results").get(1).get("target").get("nodes").asInt());
            // Same seed: both targets got the same prompts at each point.
            List<String> a = fast.received().stream().map(x -> x.body().get("prompt").asText()).sorted().toList();
            List<String> b = slow.received().stream().map(x -> x.body().get("prompt").asText()).sorted().toList();
            assertEquals(a, b);
            assertEquals(1 + 12, a.size());
        }
    }

    @Test
    void shouldSendTokenExactPromptsForAModelsTokenizer() throws Exception {
        Path model = Path.of(System.getProperty("baton.oracle.dir"), "models", "small-q8_0.gguf");
        try (ScriptedOpenAiServer s = server(5); GgufFile f = GgufFile.open(model)) {
            Run r = run("bench", "serve", "--target", s.baseUrl().toString(), "--tokenizer", model.toString(),
                    "--workload", "shared-prefix", "--tenants", "2", "--system-tokens", "40", "--input-len", "normal:20:5",
                    "--output-len", "2", "--concurrency", "2", "--requests", "6", "--warmup", "0", "--charts", "none",
                    "--out", dir.resolve("o").toString(), "--extra-body", "{\"temperature\": 0}");
            assertEquals(0, r.exit(), r.err());
            Tokenizer t = Tokenizer.fromGguf(f.metadata());
            JsonNode records = new ObjectMapper().readTree(dir.resolve("o/results.json").toFile())
                    .get("results").get(0).get("points").get(0).get("requests");
            assertEquals(6, s.received().size());
            for (ScriptedOpenAiServer.Received x : s.received()) {
                assertEquals(0, x.body().get("temperature").asInt());
                int n = t.encode(x.body().get("prompt").asText(), true, false).length;
                boolean listed = false;
                for (JsonNode rec : records) {
                    listed |= rec.get("expectedPromptTokens").asInt() == n;
                }
                assertTrue(listed && n >= 41, "prompt of " + n + " tokens");
            }
        }
    }

    @Test
    void shouldRunMultiTurnChatSessions() throws Exception {
        try (ScriptedOpenAiServer s = server(5)) {
            Run r = run("bench", "serve", "--target", s.baseUrl().toString(), "--api", "chat", "--workload", "multi-turn",
                    "--turns", "3", "--input-len", "4", "--output-len", "2", "--concurrency", "1", "--requests", "3",
                    "--warmup", "0", "--charts", "none", "--out", dir.resolve("m").toString(), "--no-ignore-eos");
            assertEquals(0, r.exit(), r.err());
            assertEquals(List.of(1, 3, 5), s.received().stream().map(x -> x.body().get("messages").size()).toList());
            assertTrue(!s.received().getFirst().body().has("ignore_eos"));
        }
    }

    @Test
    void shouldRefuseBadOptionsWithOneClearLine() {
        Run r = run("bench", "serve", "--target", "http://127.0.0.1:9/v1", "--rate", "fast");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("--rate") && !r.err().contains("\tat "), r.err());
        r = run("bench", "serve", "--target", "http://127.0.0.1:9/v1", "--slo", "ttft=soon");
        assertTrue(r.err().contains("--slo ttft"), r.err());
        r = run("bench", "serve", "--rate", "1");
        assertTrue(r.err().contains("no target"), r.err());
        r = run("bench");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("serve") && r.out().contains("profile"), r.out());
    }

    @Test
    void shouldWriteAProfileOfPrefillAndDecode() throws Exception {
        try (ScriptedOpenAiServer s = server(5)) {
            Path file = dir.resolve("p.json");
            Run r = run("bench", "profile", "--target", s.baseUrl().toString(), "--input-lens", "8,16", "--prefill-requests", "2",
                    "--concurrencies", "1,2", "--context-lens", "8", "--decode-tokens", "4", "--decode-rounds", "1",
                    "--warmup", "0", "--out", file.toString());
            assertEquals(0, r.exit(), r.err());
            JsonNode p = new ObjectMapper().readTree(file.toFile());
            assertEquals(2, p.get("prefill").size());
            assertEquals(16, p.get("prefill").get(1).get("inputTokens").asInt());
            assertEquals(2, p.get("decode").size());
            assertEquals(2, p.get("decode").get(1).get("concurrency").asInt());
            assertTrue(p.get("decode").get(1).get("itlMs").get("median").asDouble() > 0);
        }
    }
}
