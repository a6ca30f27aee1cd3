package dev.baton.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.baton.bench.engine.EngineBenchmark;
import dev.baton.engine.model.DemoModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/baton bench}: benchmarks. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Engine.class})
final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "engine", mixinStandardHelpOptions = true,
            description = "Prompt, single-stream and batched decode tokens/s of the engine (llama-bench style).")
    static final class Engine implements Callable<Integer> {

        @Option(names = "--model", paramLabel = "PATH", description = "GGUF model (repeatable). Default: the small "
                + "oracle models (Q8_0, Q4_0) and an F32 copy of small-q8_0 written to the cache directory")
        List<Path> models = new ArrayList<>();

        @Option(names = "--threads", split = ",", paramLabel = "N", defaultValue = "1,2", description = "thread counts (default: ${DEFAULT-VALUE})")
        List<Integer> threads;

        @Option(names = "--prompt-tokens", defaultValue = "512", paramLabel = "N", description = "prompt length (default: ${DEFAULT-VALUE})")
        int promptTokens;

        @Option(names = "--decode-tokens", defaultValue = "128", paramLabel = "N", description = "decode steps (default: ${DEFAULT-VALUE})")
        int decodeTokens;

        @Option(names = "--repetitions", defaultValue = "3", paramLabel = "N", description = "measured runs, best kept (default: ${DEFAULT-VALUE})")
        int repetitions;

        @Option(names = "--output", defaultValue = "table", paramLabel = "table|json", description = "(default: ${DEFAULT-VALUE})")
        String output;

        @Override
        public Integer call() throws Exception {
            List<Path> list = models;
            if (list.isEmpty()) {
                Path oracle = Path.of(System.getProperty("baton.home", ".")).resolve("../shared/oracle/models").normalize();
                if (!Files.isDirectory(oracle)) {
                    throw new IllegalArgumentException("no --model given and no oracle models at " + oracle);
                }
                Path cache = Path.of(BatonConfig.load(null).getString("baton.engine.cache-dir"));
                Path f32 = cache.resolve("small-f32.gguf");
                if (!Files.exists(f32)) {
                    Files.createDirectories(cache);
                    DemoModel.writeSmallF32(oracle.resolve("small-q8_0.gguf"), f32);
                }
                list = List.of(f32, oracle.resolve("small-q8_0.gguf"), oracle.resolve("small-q4_0.gguf"));
            }
            EngineBenchmark bench = new EngineBenchmark(promptTokens, decodeTokens, repetitions);
            List<EngineBenchmark.Row> rows = bench.runAll(list, threads, System.err);
            if (output.equals("json")) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            } else {
                System.out.print(EngineBenchmark.table(rows));
            }
            return 0;
        }
    }
}
