package dev.baton.bench.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.model.ModelConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The long-context decode benchmark's model rewrite and its rows (a short context: this checks the code, not speed). */
@Timeout(120)
class LongContextBenchmarkTest {

    static Path oracleModel(String name) {
        return Path.of(System.getProperty("baton.oracle.dir"), "models", name);
    }

    @Test
    void shouldRewriteAModelWithFewerWiderHeads(@TempDir Path dir) throws Exception {
        Path three = dir.resolve("small-3heads.gguf");
        LongContextBenchmark.writeWithHeads(oracleModel("small-q8_0.gguf"), three, 3);
        try (GgufFile f = GgufFile.open(three)) {
            ModelConfig c = ModelConfig.from(f);
            assertEquals(3, c.headCount());
            assertEquals(3, c.kvHeadCount());
            assertEquals(96, c.headDim());
            assertEquals(288, c.dim());
        }
    }

    @Test
    void shouldRefuseGroupedQueryAttentionAndHeadCountsThatDoNotDivideTheWidth(@TempDir Path dir) {
        IllegalArgumentException gqa = assertThrows(IllegalArgumentException.class,
                () -> LongContextBenchmark.writeWithHeads(oracleModel("tiny-f32.gguf"), dir.resolve("x.gguf"), 1));
        assertTrue(gqa.getMessage().contains("grouped-query"), gqa.getMessage());
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> LongContextBenchmark.writeWithHeads(oracleModel("small-q8_0.gguf"), dir.resolve("y.gguf"), 5));
        assertTrue(odd.getMessage().contains("--heads 5"), odd.getMessage());
    }

    @Test
    void shouldGiveOneRowPerThreadCountWithRatiosToTheFirst(@TempDir Path dir) throws Exception {
        Path one = dir.resolve("small-1heads.gguf");
        LongContextBenchmark.writeWithHeads(oracleModel("small-q8_0.gguf"), one, 1);
        LongContextBenchmark bench = new LongContextBenchmark(300, 2, 1);
        List<LongContextBenchmark.Row> rows = bench.run(one, List.of(1, 2),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(2, rows.size());
        assertEquals(1, rows.get(0).threads());
        assertEquals(2, rows.get(1).threads());
        assertEquals(1, rows.get(0).heads());
        assertEquals(1.0, rows.get(0).ratioToFirst());
        assertTrue(rows.get(1).decodeTokensPerSecond() > 0);
        String table = LongContextBenchmark.table(rows);
        assertTrue(table.contains("| small-1heads.gguf | Q8_0 | 1 | 300 | 2 |"), table);
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> new LongContextBenchmark(4096, 1, 1).run(one, List.of(1), new PrintStream(new ByteArrayOutputStream())));
        assertTrue(tooLong.getMessage().contains("has 2048"), tooLong.getMessage());
    }
}
