package dev.baton.bench.serve.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class WorkloadTest {

    @TempDir
    Path dir;

    @Test
    void shouldParseAndSampleLengthDistributions() {
        SplittableRandom rng = new SplittableRandom(1);
        assertEquals(720, LengthDistribution.parse("720", "--input-len").sample(rng));
        assertEquals(5, LengthDistribution.parse("fixed:5", "x").sample(rng));
        LengthDistribution u = LengthDistribution.parse("uniform:10:12", "x");
        for (int i = 0; i < 100; i++) {
            int v = u.sample(rng);
            assertTrue(v >= 10 && v <= 12, "uniform " + v);
        }
        double sum = 0;
        LengthDistribution ln = LengthDistribution.parse("lognormal:200:100", "x");
        for (int i = 0; i < 20_000; i++) {
            sum += ln.sample(rng);
        }
        assertEquals(200, sum / 20_000, 4, "the lengths' mean is the given mean");
        for (int i = 0; i < 1000; i++) {
            assertTrue(LengthDistribution.parse("normal:2:50", "x").sample(rng) >= 1, "clamped to 1");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LengthDistribution.parse("uniform:9", "--output-len"));
        assertTrue(e.getMessage().startsWith("--output-len"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LengthDistribution.parse("0", "x"));
    }

    @Test
    void shouldBuildSharedPrefixPromptsOfExactTotalLength() throws IOException {
        Tokenizer t = TokenExactPromptsTest.tokenizer("small-q8_0.gguf");
        SharedPrefixWorkload w = new SharedPrefixWorkload(new TokenExactPrompts(t, true), Api.COMPLETIONS, 3, 120,
                new LengthDistribution.Fixed(30), new LengthDistribution.Fixed(8));
        List<Session> sessions = w.sessions(12, 5);
        assertEquals(12, sessions.size());
        long systems = sessions.stream().map(s -> s.turns().getFirst().messages().getFirst().content()).distinct().count();
        assertEquals(3, systems);
        for (Session s : sessions) {
            Turn turn = s.turns().getFirst();
            String prompt = turn.messages().get(0).content() + turn.messages().get(1).content();
            assertEquals(150, t.encode(prompt, true, false).length);
            assertEquals(150, turn.expectedPromptTokens());
            assertEquals(8, turn.maxTokens());
        }
        assertEquals(sessions, w.sessions(12, 5), "the same seed gives the same sessions");
    }

    @Test
    void shouldSplitRequestsIntoSessionsOfTurns() {
        MultiTurnWorkload w = new MultiTurnWorkload(new ApproximatePrompts(), Api.CHAT, 3, new LengthDistribution.Fixed(5),
                new LengthDistribution.Fixed(4));
        List<Session> s = w.sessions(7, 1);
        assertEquals(List.of(3, 3, 1), s.stream().map(x -> x.turns().size()).toList());
        assertEquals(5, s.getFirst().turns().getFirst().messages().getFirst().content().split(" ").length);
        assertEquals(-1, s.getFirst().turns().get(1).expectedPromptTokens());
    }

    @Test
    void shouldReadPromptsAndMessagesFromJsonl() throws IOException {
        Path f = dir.resolve("p.jsonl");
        Files.writeString(f, """
                {"prompt": "hello there", "max_tokens": 9}

                {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "prompt_tokens": 14}
                """);
        JsonlWorkload w = JsonlWorkload.read(f, new LengthDistribution.Fixed(3));
        List<Session> s = w.sessions(3, 0);
        assertEquals("hello there", s.get(0).turns().getFirst().messages().getFirst().content());
        assertEquals(9, s.get(0).turns().getFirst().maxTokens());
        assertEquals(List.of(Message.system("be brief"), Message.user("hi")), s.get(1).turns().getFirst().messages());
        assertEquals(3, s.get(1).turns().getFirst().maxTokens());
        assertEquals(14, s.get(1).turns().getFirst().expectedPromptTokens());
        assertEquals(s.get(0).turns(), s.get(2).turns(), "the file repeats");
        Files.writeString(f, "{\"text\": 1}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlWorkload.read(f, new LengthDistribution.Fixed(3)));
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
    }
}
