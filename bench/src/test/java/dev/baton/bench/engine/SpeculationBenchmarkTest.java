package dev.baton.bench.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code bench spec}'s kinds and rows on the tiny model (a few tokens: this checks the code, not speed). */
@Timeout(120)
class SpeculationBenchmarkTest {

    @Test
    void shouldMeasureEveryKindOfDraftsWithTheDraftModelsGiven() throws Exception {
        Path tiny = LongContextBenchmarkTest.oracleModel("tiny-q8_0.gguf");
        Path f32 = LongContextBenchmarkTest.oracleModel("tiny-f32.gguf");
        SpeculationBenchmark bench = new SpeculationBenchmark(24, 20, 1, List.of(tiny, f32));
        List<SpeculationBenchmark.Row> rows = bench.run(tiny, 1, "random", List.of(3),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(List.of("off", "prompt-lookup", "target", "draft:tiny-q8_0.gguf", "draft:tiny-f32.gguf"),
                rows.stream().map(SpeculationBenchmark.Row::drafts).toList());
        assertEquals(1.0, rows.get(0).ratioToOff());
        SpeculationBenchmark.Row self = rows.get(3);
        assertEquals(1.0, self.acceptance(), "the model as its own draft model has every greedy draft accepted");
        assertTrue(self.tokensPerStep() > 3, "up to 4 tokens a step: " + self);
        assertEquals(1.0, rows.get(2).acceptance());
        String table = SpeculationBenchmark.table(rows);
        assertTrue(table.contains("| draft:tiny-f32.gguf | 3 |"), table);
    }
}
