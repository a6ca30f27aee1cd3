package dev.baton.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.baton.bench.engine.EngineBenchmark;
import dev.baton.bench.transfer.TransferBenchmark;
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
        subcommands = {BenchCommand.Engine.class, BenchCommand.Transfer.class})
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

    @Command(name = "transfer", mixinStandardHelpOptions = true,
            description = "KV transfer throughput (GB/s) and per-transfer latency over Aeron IPC and UDP loopback, "
                    + "next to a plain memory copy of the same bytes.")
    static final class Transfer implements Callable<Integer> {

        @Option(names = "--transports", split = ",", paramLabel = "ipc|udp", defaultValue = "ipc,udp",
                description = "transports (default: ${DEFAULT-VALUE})")
        List<String> transports;

        @Option(names = "--block-bytes", split = ",", paramLabel = "N", defaultValue = "16384,262144,2097152",
                description = "block sizes in bytes (default: ${DEFAULT-VALUE})")
        List<Integer> blockBytes;

        @Option(names = "--blocks", split = ",", paramLabel = "N", defaultValue = "1,64",
                description = "blocks per transfer (default: ${DEFAULT-VALUE})")
        List<Integer> blocks;

        @Option(names = "--bytes-per-phase", paramLabel = "N", defaultValue = "1073741824",
                description = "bytes moved per throughput measurement (default: ${DEFAULT-VALUE})")
        long bytesPerPhase;

        @Option(names = "--seconds-per-phase", paramLabel = "N", defaultValue = "3",
                description = "time limit of each measurement (default: ${DEFAULT-VALUE})")
        long secondsPerPhase;

        @Option(names = "--window", paramLabel = "N", defaultValue = "8",
                description = "transfers in flight in the throughput measurement (default: ${DEFAULT-VALUE})")
        int window;

        @Option(names = "--term-length", paramLabel = "BYTES", defaultValue = "67108864",
                description = "Aeron term length of the benchmark streams (default: ${DEFAULT-VALUE})")
        int termLength;

        @Option(names = "--output", defaultValue = "table", paramLabel = "table|json", description = "(default: ${DEFAULT-VALUE})")
        String output;

        @Override
        public Integer call() throws Exception {
            for (int b : blockBytes) {
                if (b < 32 || b % 32 != 0) {
                    throw new IllegalArgumentException("--block-bytes " + b + " must be a positive multiple of 32 (32 layers)");
                }
            }
            for (int n : blocks) {
                if (n < 1 || n > 4096) {
                    throw new IllegalArgumentException("--blocks " + n + " must be from 1 to 4096");
                }
            }
            List<TransferBenchmark.Transport> kinds = new ArrayList<>();
            for (String t : transports) {
                try {
                    kinds.add(TransferBenchmark.Transport.parse(t));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--transports: unknown transport \"" + t + "\" (expected ipc or udp)");
                }
            }
            TransferBenchmark bench = new TransferBenchmark(bytesPerPhase, secondsPerPhase, window, termLength);
            List<TransferBenchmark.Row> rows = bench.run(kinds, blockBytes, blocks, System.err);
            if (output.equals("json")) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            } else {
                System.out.print(TransferBenchmark.table(rows));
            }
            return 0;
        }
    }
}
