package dev.baton.bench.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.planner.RequestTrace;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceGeneratorTest {

    static long between(List<RequestTrace.Entry> t, double from, double to) {
        return t.stream().filter(e -> e.t() >= from && e.t() < to).count();
    }

    @Test
    void shapesFollowTheirRate() {
        List<RequestTrace.Entry> d = TraceGenerator.generate(new TraceGenerator.Spec("d", TraceGenerator.Shape.DIURNAL,
                TraceGenerator.Mix.BALANCED, 3600, 10, 1));
        long edge = between(d, 0, 300) + between(d, 3300, 3600);
        long middle = between(d, 1500, 2100);
        assertTrue(middle > 4 * edge, "middle " + middle + ", edges " + edge);
        assertEquals(0.55 * 10 * 3600, d.size(), 0.05 * 0.55 * 10 * 3600);
        List<RequestTrace.Entry> b = TraceGenerator.generate(new TraceGenerator.Spec("b", TraceGenerator.Shape.BURSTS,
                TraceGenerator.Mix.BALANCED, 1200, 10, 1));
        assertTrue(between(b, 180, 300) > 3 * between(b, 300, 420), "burst at 3 to 5 minutes");
        for (int i = 1; i < d.size(); i++) {
            assertTrue(d.get(i).t() >= d.get(i - 1).t());
        }
    }

    @Test
    void mixesDifferAsNamed() {
        var balanced = TraceGenerator.unitLoad(TraceGenerator.Mix.BALANCED, 0.9, 1);
        var prompt = TraceGenerator.unitLoad(TraceGenerator.Mix.PROMPT_HEAVY, 0.9, 1);
        var decode = TraceGenerator.unitLoad(TraceGenerator.Mix.DECODE_HEAVY, 0.9, 1);
        var prefix = TraceGenerator.unitLoad(TraceGenerator.Mix.PREFIX_HEAVY, 0.9, 1);
        assertTrue(prompt.promptTokens() > balanced.promptTokens() && prompt.outputTokens() < balanced.outputTokens());
        assertTrue(decode.outputTokens() > 2 * balanced.outputTokens());
        assertTrue(prefix.effectivePromptTokens() < 0.5 * prefix.promptTokens(), "prefix hits " + prefix);
        assertEquals(balanced.promptTokens(), balanced.effectivePromptTokens(), 1e-9);
        for (RequestTrace.Entry e : TraceGenerator.generate(new TraceGenerator.Spec("p", TraceGenerator.Shape.STEADY,
                TraceGenerator.Mix.PREFIX_HEAVY, 600, 5, 3))) {
            assertTrue(e.prompt() + e.output() <= TraceGenerator.MAX_CONTEXT && e.cached() < e.prompt(), e.json());
        }
    }

    @Test
    void writtenTraceReadsBack(@TempDir Path dir) throws Exception {
        List<RequestTrace.Entry> t = TraceGenerator.generate(new TraceGenerator.Spec("s", TraceGenerator.Shape.STEADY,
                TraceGenerator.Mix.PREFIX_HEAVY, 120, 3, 4));
        Path f = dir.resolve("s.jsonl");
        RequestTrace.write(f, t);
        List<RequestTrace.Entry> back = RequestTrace.read(f);
        assertEquals(t.size(), back.size());
        for (int i = 0; i < t.size(); i++) {
            assertEquals(t.get(i).t(), back.get(i).t(), 0.001);
            assertEquals(t.get(i).cached(), back.get(i).cached());
        }
    }

    @Test
    void badSpecIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TraceGenerator.Spec("x", TraceGenerator.Shape.STEADY,
                TraceGenerator.Mix.BALANCED, 60, 0, 1));
        assertTrue(e.getMessage().contains("peak rate"), e.getMessage());
    }
}
