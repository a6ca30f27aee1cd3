package dev.baton.bench.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Reading llama.cpp's benchmark output (the shapes its pinned commit prints) and the side-by-side table. */
class LlamaBenchTest {

    @Test
    void shouldReadPromptAndGenerationSpeedsFromLlamaBenchJson() throws IOException {
        String out = """
                [
                  {"build_commit": "c392e509", "model_filename": "small-q8_0.gguf", "n_threads": 1, "n_prompt": 512, "n_gen": 0,
                   "avg_ns": 84000000, "stddev_ns": 100, "avg_ts": 6097.5, "stddev_ts": 10.1},
                  {"build_commit": "c392e509", "model_filename": "small-q8_0.gguf", "n_threads": 1, "n_prompt": 0, "n_gen": 128,
                   "avg_ns": 79000000, "stddev_ns": 100, "avg_ts": 1613.25, "stddev_ts": 3.2}
                ]
                """;
        double[] r = LlamaBench.parseBench(out, 512, 128);
        assertEquals(6097.5, r[0]);
        assertEquals(1613.25, r[1]);
        IOException missing = assertThrows(IOException.class, () -> LlamaBench.parseBench(out, 256, 128));
        assertTrue(missing.getMessage().contains("pp256"), missing.getMessage());
    }

    @Test
    void shouldReadAggregateGenerationSpeedPerParallelCountFromBatchedBenchJsonl() throws IOException {
        String out = """
                llama_model_loader: loaded meta data with 24 key-value pairs
                main: n_kv_max = 2304, n_batch = 2048, n_ubatch = 512, flash_attn = 0, is_pp_shared = 0
                {"n_kv_max": 2304, "n_batch": 2048, "n_ubatch": 512, "flash_attn": 0, "is_pp_shared": 0, "n_gpu_layers": 0, "n_threads": 2, "n_threads_batch": 2, "pp": 1, "tg": 64, "pl": 8, "n_kv": 520, "t_pp": 0.010000, "speed_pp": 800.000000, "t_tg": 0.500000, "speed_tg": 1024.000000, "t": 0.510000, "speed": 1019.607843}
                {"n_kv_max": 2304, "n_batch": 2048, "n_ubatch": 512, "flash_attn": 0, "is_pp_shared": 0, "n_gpu_layers": 0, "n_threads": 2, "n_threads_batch": 2, "pp": 1, "tg": 64, "pl": 32, "n_kv": 2080, "t_pp": 0.040000, "speed_pp": 800.000000, "t_tg": 1.000000, "speed_tg": 2048.000000, "t": 1.040000, "speed": 2000.000000}
                """;
        TreeMap<Integer, Double> speeds = LlamaBench.parseBatched(out);
        assertEquals(2, speeds.size());
        assertEquals(1024.0, speeds.get(8));
        assertEquals(2048.0, speeds.get(32));
    }

    @Test
    void shouldPrintRatiosBesideBatonsFigures() {
        String table = LlamaBench.sideBySide(List.of(new EngineBenchmark.Row("m.gguf", "Q8_0", 2, 3000, 800, 2000, 4000)),
                List.of(new LlamaBench.Row("m.gguf", 2, 6000, 400, 1000, Double.NaN)));
        assertTrue(table.contains("| m.gguf | Q8_0 | 2 | 3,000 | 6,000 | 0.50 | 800 | 400 | 2.00 | 2,000 | 1,000 | 2.00 | 4,000 | - | - |"),
                table);
    }

    @Test
    void shouldRefuseAPathThatIsNotAnExecutable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LlamaBench(Path.of("/nonexistent/llama-bench"), 512, 128, 3));
        assertTrue(e.getMessage().contains("/nonexistent/llama-bench"), e.getMessage());
    }
}
