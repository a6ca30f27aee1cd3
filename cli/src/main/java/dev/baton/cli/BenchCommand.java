package dev.baton.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.baton.bench.engine.EngineBenchmark;
import dev.baton.bench.engine.LongContextBenchmark;
import dev.baton.bench.transfer.HostTierBenchmark;
import dev.baton.bench.transfer.TransferBenchmark;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.profile.ProfileSettings;
import dev.baton.bench.serve.profile.Profiler;
import dev.baton.bench.serve.report.JsonReport;
import dev.baton.bench.serve.report.ProgressBar;
import dev.baton.bench.serve.workload.Api;
import dev.baton.engine.model.DemoModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton bench}: benchmarks. Given {@code --target} or {@code --compare} it runs the serving
 * benchmark itself ({@code bin/baton bench --compare baton=URL llama=URL --rate 1,2,4}), the same as
 * {@code bench serve}; without, it prints its usage.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks.", "With --target or --compare: the serving benchmark (see bench serve)."},
        subcommands = {BenchCommand.Serve.class, BenchCommand.Profile.class, BenchCommand.Engine.class, BenchCommand.Spec.class,
                BenchCommand.Transfer.class,
                BenchCommand.Cdf.class, BenchCommand.Trace.class, BenchCommand.Simulate.class, ChaosCommand.class,
                BenchOverloadCommand.class})
final class BenchCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ServeOptions serve = new ServeOptions();

    /** Whether a live progress line makes sense: a terminal, not a pipe or a log file. */
    static boolean terminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    @Override
    public Integer call() throws Exception {
        if (!serve.hasTargets()) {
            spec.commandLine().usage(spec.commandLine().getOut());
            return 0;
        }
        return serve.run(spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    @Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Load one or more OpenAI-compatible endpoints (always streaming) and report TTFT, TPOT, ITL, "
                    + "end-to-end latency, throughput and goodput over a sweep of request rates or concurrencies.",
                    "Writes results.json (summary and one record per request), summary.csv, requests.csv, charts "
                    + "(latency CDFs, throughput and goodput against load, the Pareto frontier of output tokens/s per "
                    + "node against tokens/s per user) and report.html.",
                    "Example: bin/baton bench serve --target http://127.0.0.1:8080/v1 --preset prompt-heavy "
                    + "--tokenizer model.gguf --rate 0.5,1,2 --requests 24 --slo ttft=500ms,tpot=50ms"})
    static final class Serve implements Callable<Integer> {

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Mixin
        ServeOptions serve = new ServeOptions();

        @Override
        public Integer call() throws Exception {
            if (!serve.hasTargets()) {
                throw new IllegalArgumentException("no target: give --target URL (or --compare URL URL ...)");
            }
            return serve.run(spec.commandLine().getOut(), spec.commandLine().getErr());
        }
    }

    @Command(name = "profile", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Capacity profile of one node for the SLO planner: TTFT against prompt length (prefill, one "
                    + "request at a time, one output token) and ITL against concurrency and context length (decode). "
                    + "Saved as JSON.",
                    "Example: bin/baton bench profile --target http://127.0.0.1:8080/v1 --tokenizer model.gguf"})
    static final class Profile implements Callable<Integer> {

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--target", required = true, paramLabel = "[NAME=]URL[,nodes=N][,model=M][,api-key=K]",
                description = "the endpoint of the node to profile (nodes=N divides throughputs)")
        String target;

        @Option(names = "--model", paramLabel = "NAME", description = "model field (default: the first one GET /v1/models lists)")
        String model;

        @Option(names = "--api", paramLabel = "completions|chat", defaultValue = "completions", description = "(default: ${DEFAULT-VALUE})")
        String api;

        @Option(names = "--tokenizer", paramLabel = "GGUF", description = "the model's GGUF file, for prompts of exact token lengths")
        Path tokenizer;

        @Option(names = "--input-lens", split = ",", paramLabel = "N", defaultValue = "64,128,256,512,1024",
                description = "prefill: prompt lengths (default: ${DEFAULT-VALUE})")
        List<Integer> inputLens;

        @Option(names = "--prefill-requests", paramLabel = "N", defaultValue = "5",
                description = "prefill: requests per prompt length (default: ${DEFAULT-VALUE})")
        int prefillRequests;

        @Option(names = "--concurrencies", split = ",", paramLabel = "N", defaultValue = "1,2,4,8,16",
                description = "decode: concurrent streams (default: ${DEFAULT-VALUE})")
        List<Integer> concurrencies;

        @Option(names = "--context-lens", split = ",", paramLabel = "N", defaultValue = "128,512,1024",
                description = "decode: prompt length each stream decodes after (default: ${DEFAULT-VALUE})")
        List<Integer> contextLens;

        @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "64",
                description = "decode: output tokens per request (default: ${DEFAULT-VALUE})")
        int decodeTokens;

        @Option(names = "--decode-rounds", paramLabel = "N", defaultValue = "2",
                description = "decode: requests per client at each point (default: ${DEFAULT-VALUE})")
        int decodeRounds;

        @Option(names = "--warmup", paramLabel = "N", defaultValue = "2", description = "unmeasured requests first (default: ${DEFAULT-VALUE})")
        int warmup;

        @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "(default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--request-timeout", paramLabel = "DURATION", defaultValue = "300s", description = "(default: ${DEFAULT-VALUE})")
        String requestTimeout;

        @Option(names = "--out", paramLabel = "FILE", description = "the profile JSON (default: run/bench/profile-<time>.json)")
        Path out;

        @Override
        public Integer call() throws Exception {
            Target t = Target.parse(target);
            if (t.model() == null && model != null) {
                t = t.withModel(model);
            }
            Api theApi = Api.parse(api);
            ProfileSettings s = new ProfileSettings(t, theApi, ServeOptions.prompts(theApi, tokenizer), inputLens, prefillRequests,
                    concurrencies, contextLens, decodeTokens, decodeRounds, warmup, seed,
                    ClientOptions.defaults().withRequestTimeout(ServeOptions.duration(requestTimeout, "--request-timeout")));
            PrintWriter err = spec.commandLine().getErr();
            dev.baton.bench.serve.profile.Profile p = new Profiler(s).run(new ProgressBar(err, terminal()));
            Path file = out != null ? out : Path.of(System.getProperty("baton.home", "."), "run", "bench",
                    "profile-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".json");
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            JsonReport.mapper().writeValue(file.toFile(), p);
            err.println("bench profile: " + file.toAbsolutePath().normalize());
            return 0;
        }
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

        @Option(names = "--context", defaultValue = "0", paramLabel = "N", description = "instead of the table above: "
                + "single-stream decode at an N-token context (--decode-tokens steps, each at position N), the thread "
                + "counts alternating, with each one's ratio to the first (default: off; the default model: small-q8_0)")
        int context;

        @Option(names = "--kv-dtype", defaultValue = "F32", paramLabel = "F32|F16|Q8_0", description = "with --context: "
                + "the KV cache type (default: ${DEFAULT-VALUE})")
        String kvDtype;

        @Option(names = "--heads", split = ",", paramLabel = "N", description = "with --context: also measure each model "
                + "rewritten with N attention heads of width/N dimensions (same weights; written to the cache directory), "
                + "to see attention spread over threads when heads are few (e.g. 3,1)")
        List<Integer> heads = new ArrayList<>();

        @Option(names = "--backend", defaultValue = "cpu", paramLabel = "cpu|cuda", description = "the forward pass "
                + "(default: ${DEFAULT-VALUE}; cuda: README \"GPU backend\")")
        String backend;

        @Option(names = "--device", defaultValue = "0", paramLabel = "N", description = "the GPU of --backend cuda")
        int device;

        @Option(names = "--llama-bench", paramLabel = "PATH", description = "also run llama.cpp's llama-bench (and "
                + "llama-batched-bench beside it) on the same files and threads, and print the ratios (build it with "
                + "../shared/oracle/tools/build-llama-cpp.sh)")
        Path llamaBench;

        @Override
        public Integer call() throws Exception {
            dev.baton.bench.engine.LlamaBench llama = llamaBench == null ? null
                    : new dev.baton.bench.engine.LlamaBench(llamaBench, promptTokens, decodeTokens, repetitions);
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
                list = context > 0 ? List.of(oracle.resolve("small-q8_0.gguf"))
                        : List.of(f32, oracle.resolve("small-q8_0.gguf"), oracle.resolve("small-q4_0.gguf"));
            }
            if (context > 0) {
                return longContext(list);
            }
            EngineBenchmark bench = new EngineBenchmark(promptTokens, decodeTokens, repetitions, backend, device);
            List<EngineBenchmark.Row> rows = new ArrayList<>();
            List<dev.baton.bench.engine.LlamaBench.Row> theirs = new ArrayList<>();
            // One model and thread count at a time, Baton then llama.cpp, so both see the machine in the same state.
            for (Path m : list) {
                for (int t : threads) {
                    rows.addAll(bench.runAll(List.of(m), List.of(t), System.err));
                    if (llama != null) {
                        System.err.printf("baton bench engine: llama.cpp on %s, %d thread(s)...%n", m.getFileName(), t);
                        theirs.add(llama.run(m, t));
                    }
                }
            }
            if (output.equals("json")) {
                java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
                out.put("baton", rows);
                if (llama != null) {
                    out.put("llamaCpp", theirs);
                }
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(
                        llama == null ? rows : out));
            } else {
                System.out.print(llama == null ? EngineBenchmark.table(rows) : dev.baton.bench.engine.LlamaBench.sideBySide(rows, theirs));
            }
            return 0;
        }

        private int longContext(List<Path> list) throws Exception {
            LongContextBenchmark bench = new LongContextBenchmark(context, decodeTokens, repetitions,
                    dev.baton.engine.gguf.GgmlType.valueOf(kvDtype.toUpperCase(java.util.Locale.ROOT)));
            System.err.println("baton bench engine: KV cache " + kvDtype.toUpperCase(java.util.Locale.ROOT));
            List<LongContextBenchmark.Row> rows = new ArrayList<>();
            Path cache = Path.of(BatonConfig.load(null).getString("baton.engine.cache-dir"));
            for (Path m : list) {
                rows.addAll(bench.run(m, threads, System.err));
                for (int h : heads) {
                    String name = m.getFileName().toString().replaceFirst("\\.gguf$", "") + "-" + h + "heads.gguf";
                    Path variant = cache.resolve(name);
                    if (!Files.exists(variant)) {
                        Files.createDirectories(cache);
                        LongContextBenchmark.writeWithHeads(m, variant, h);
                    }
                    rows.addAll(bench.run(variant, threads, System.err));
                }
            }
            if (output.equals("json")) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            } else {
                System.out.print(LongContextBenchmark.table(rows));
            }
            return 0;
        }
    }

    @Command(name = "spec", mixinStandardHelpOptions = true,
            description = "Single-stream decode tokens/s with speculative decoding: off, prompt-lookup drafts, and the "
                    + "target's own answer as the draft (full acceptance: the ceiling).")
    static final class Spec implements Callable<Integer> {

        @Option(names = "--model", paramLabel = "PATH", description = "GGUF model (repeatable). Default: the oracle's "
                + "small-q8_0")
        List<Path> models = new ArrayList<>();

        @Option(names = "--threads", split = ",", paramLabel = "N", defaultValue = "1", description = "thread counts (default: ${DEFAULT-VALUE})")
        List<Integer> threads;

        @Option(names = "--workload", split = ",", paramLabel = "copy|echo|random", defaultValue = "echo,random",
                description = "copy: the prompt is one random span repeated; echo: a prompt, the model's answer and the "
                        + "prompt again; random: random tokens (default: ${DEFAULT-VALUE})")
        List<String> workloads;

        @Option(names = "--draft-tokens", split = ",", paramLabel = "K", defaultValue = "4,8", description = "draft lengths (default: ${DEFAULT-VALUE})")
        List<Integer> draftTokens;

        @Option(names = "--prompt-tokens", defaultValue = "128", paramLabel = "N", description = "prompt length (default: ${DEFAULT-VALUE})")
        int promptTokens;

        @Option(names = "--decode-tokens", defaultValue = "256", paramLabel = "N", description = "tokens generated (default: ${DEFAULT-VALUE})")
        int decodeTokens;

        @Option(names = "--repetitions", defaultValue = "3", paramLabel = "N", description = "measured runs, best kept (default: ${DEFAULT-VALUE})")
        int repetitions;

        @Option(names = "--draft-model", paramLabel = "PATH", description = "also measure drafts from this GGUF "
                + "(repeatable; the model's own file gives full acceptance at the draft model's cost)")
        List<Path> draftModels = new ArrayList<>();

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
                list = List.of(oracle.resolve("small-q8_0.gguf"));
            }
            dev.baton.bench.engine.SpeculationBenchmark bench =
                    new dev.baton.bench.engine.SpeculationBenchmark(promptTokens, decodeTokens, repetitions, draftModels);
            List<dev.baton.bench.engine.SpeculationBenchmark.Row> rows = new ArrayList<>();
            for (Path m : list) {
                for (int t : threads) {
                    for (String w : workloads) {
                        rows.addAll(bench.run(m, t, w, draftTokens, System.err));
                    }
                }
            }
            if (output.equals("json")) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            } else {
                System.out.print(dev.baton.bench.engine.SpeculationBenchmark.table(rows));
            }
            return 0;
        }
    }

    @Command(name = "cdf", mixinStandardHelpOptions = true,
            description = "Draw one latency CDF from the results.json of several bench serve runs (one line each).")
    static final class Cdf implements Callable<Integer> {

        @picocli.CommandLine.Parameters(paramLabel = "NAME=RESULTS_JSON", arity = "1..*",
                description = "a label and the results.json of one run")
        List<String> runs;

        @Option(names = "--metric", defaultValue = "ttftMs",
                description = "request field: ttftMs, tpotMs or e2eMs (default: ${DEFAULT-VALUE})")
        String metric;

        @Option(names = "--log-x", description = "logarithmic latency axis")
        boolean logX;

        @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "the chart to write")
        Path out;

        @Override
        public Integer call() throws Exception {
            java.util.Map<String, Path> byName = new java.util.LinkedHashMap<>();
            for (String r : runs) {
                int eq = r.indexOf('=');
                if (eq <= 0) {
                    throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                            "expected NAME=RESULTS_JSON, got " + r);
                }
                byName.put(r.substring(0, eq), Path.of(r.substring(eq + 1)));
            }
            dev.baton.bench.serve.report.CdfChart.write(byName, metric, logX, out);
            System.err.println("bench cdf: wrote " + out);
            return 0;
        }
    }

    @Command(name = "transfer", mixinStandardHelpOptions = true,
            description = "KV transfer throughput (GB/s) and per-transfer latency over Aeron IPC, UDP loopback and "
                    + "the host tier, next to a plain memory copy of the same bytes.")
    static final class Transfer implements Callable<Integer> {

        @Option(names = "--transports", split = ",", paramLabel = "ipc|ipc-bytes|udp|host-tier",
                defaultValue = "ipc,ipc-bytes,udp,host-tier",
                description = "transports: ipc (the receiver copies blocks out of the sender's shared memory), "
                        + "ipc-bytes (blocks in the IPC stream), udp (loopback), host-tier (put into and get out "
                        + "of the shared-memory host tier) (default: ${DEFAULT-VALUE})")
        List<String> transports;

        @Option(names = "--host-tier-dir", paramLabel = "DIR", defaultValue = "/dev/shm",
                description = "where the host tier rows' tier files go, in a directory of their own deleted "
                        + "afterwards; a tmpfs, as the nodes' tier (default: ${DEFAULT-VALUE})")
        Path hostTierDir;

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
                description = "Aeron term length of the benchmark's UDP streams (default: ${DEFAULT-VALUE})")
        int termLength;

        @Option(names = "--ipc-term-length", paramLabel = "BYTES", defaultValue = "2097152",
                description = "Aeron term length of its IPC streams (default: ${DEFAULT-VALUE}, as the nodes' "
                        + "baton.kv-transfer.aeron.ipc-term-length-bytes)")
        int ipcTermLength;

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
            boolean hostTier = false;
            for (String t : transports) {
                if (t.trim().equalsIgnoreCase("host-tier")) {
                    hostTier = true;
                    continue;
                }
                try {
                    kinds.add(TransferBenchmark.Transport.parse(t));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--transports: unknown transport \"" + t
                            + "\" (expected ipc, ipc-bytes, udp or host-tier)");
                }
            }
            if (!output.equals("json") && !output.equals("table")) {
                throw new IllegalArgumentException("--output " + output + ": expected table or json");
            }
            List<TransferBenchmark.Row> rows = List.of();
            if (!kinds.isEmpty()) {
                TransferBenchmark bench = new TransferBenchmark(bytesPerPhase, secondsPerPhase, window, termLength, ipcTermLength);
                rows = bench.run(kinds, blockBytes, blocks, System.err);
            }
            List<HostTierBenchmark.Row> tierRows = List.of();
            if (hostTier) {
                tierRows = HostTierBenchmark.runIn(hostTierDir, bytesPerPhase,
                        blockBytes.stream().map(Integer::longValue).toList(), blocks, System.err);
            }
            if (output.equals("json")) {
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("transports", rows);
                json.put("hostTier", tierRows);
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json));
            } else {
                if (!rows.isEmpty()) {
                    System.out.print(TransferBenchmark.table(rows));
                }
                if (!tierRows.isEmpty()) {
                    System.out.print((rows.isEmpty() ? "" : "\n") + HostTierBenchmark.table(tierRows));
                }
            }
            return 0;
        }
    }

    /** Objectives and planner options shared by {@code bench trace} and {@code bench simulate}. */
    static final class PlanOptions {
        @Option(names = "--profile", required = true, paramLabel = "FILE", description = "capacity profile JSON (bin/baton bench profile)")
        Path profile;

        @Option(names = "--ttft", paramLabel = "DURATION", defaultValue = "2s", description = "TTFT objective (default: ${DEFAULT-VALUE})")
        String ttft;

        @Option(names = "--itl", paramLabel = "DURATION", defaultValue = "35ms", description = "ITL objective (default: ${DEFAULT-VALUE})")
        String itl;

        @Option(names = "--percentile", paramLabel = "P", defaultValue = "90",
                description = "percentile of requests the objectives hold for (default: ${DEFAULT-VALUE})")
        double percentile;

        @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "10s", description = "planner interval (default: ${DEFAULT-VALUE})")
        String interval;

        @Option(names = "--planner", paramLabel = "HOCON",
                description = "more baton.planner settings, e.g. \"max-step = 4, scale-down.window = 3m\"")
        String overrides;

        dev.baton.planner.PlannerSettings settings() {
            return dev.baton.bench.plan.Simulation.plannerSettings(profile, ttft, itl, percentile, interval, overrides);
        }

        dev.baton.planner.CapacityModel model() {
            return new dev.baton.planner.CapacityModel(dev.baton.planner.CapacityProfile.read(profile));
        }
    }

    static Path runDir(String stem) {
        return Path.of(System.getProperty("baton.home", "."), "run", "bench",
                stem + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }

    @Command(name = "trace", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Writes the simulator's request traces (JSONL, seeded): diurnal with balanced, prompt-heavy, "
                    + "decode-heavy and prefix-heavy mixes, bursts and steady. Each trace's peak rate is where the busier "
                    + "pool needs --peak-nodes nodes of the profile at the objectives.",
                    "Example: bin/baton bench trace --profile bench/src/test/resources/plan/profile.json --out-dir run/traces"})
    static final class Trace implements Callable<Integer> {
        @Mixin
        PlanOptions plan = new PlanOptions();

        @Option(names = "--duration", paramLabel = "DURATION", defaultValue = "3600s", description = "length of each trace (default: ${DEFAULT-VALUE})")
        String duration;

        @Option(names = "--peak-nodes", paramLabel = "N", defaultValue = "6", description = "(default: ${DEFAULT-VALUE})")
        int peakNodes;

        @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "(default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--out-dir", paramLabel = "DIR", description = "(default: run/bench/traces-<time>)")
        Path outDir;

        @Override
        public Integer call() throws Exception {
            dev.baton.planner.PlannerSettings s = plan.settings();
            double seconds = ServeOptions.duration(duration, "--duration").toMillis() / 1000.0;
            if (peakNodes < 1) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--peak-nodes must be at least 1");
            }
            Path dir = outDir != null ? outDir : runDir("traces");
            Files.createDirectories(dir);
            PrintWriter err = new PrintWriter(System.err, true);
            for (dev.baton.bench.plan.TraceGenerator.Spec spec : dev.baton.bench.plan.TraceGenerator.standard(plan.model(), s.objectives(),
                    s.maxUtilization(), seconds, peakNodes, seed)) {
                List<dev.baton.planner.RequestTrace.Entry> t = dev.baton.bench.plan.TraceGenerator.generate(spec);
                Path f = dir.resolve(spec.name() + ".jsonl");
                dev.baton.planner.RequestTrace.write(f, t);
                err.printf(java.util.Locale.ROOT, "bench trace: %s (%d requests, peak %.2f req/s)%n", f, t.size(), spec.peakRate());
            }
            return 0;
        }
    }

    @Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Simulates a disaggregated cluster (prefill and decode nodes modelled from a capacity profile, "
                    + "node start-up, the router's policy) replaying request traces with the SLO planner in the loop, "
                    + "against fixed allocations (sized for the peak, with the planner's node-seconds, the cheapest one "
                    + "meeting --target). Reports SLO attainment, goodput and node-seconds (JSON, CSV, a chart per trace).",
                    "Example: bin/baton bench simulate --profile bench/src/test/resources/plan/profile.json --make-traces --out run/sim"})
    static final class Simulate implements Callable<Integer> {
        @Mixin
        PlanOptions plan = new PlanOptions();

        @Option(names = "--trace", paramLabel = "FILE", split = ",", description = "request traces (JSONL)")
        List<Path> traces = new ArrayList<>();

        @Option(names = "--make-traces", description = "generate the standard traces (as bench trace) and simulate them")
        boolean makeTraces;

        @Option(names = "--duration", paramLabel = "DURATION", defaultValue = "3600s",
                description = "with --make-traces: length of each trace (default: ${DEFAULT-VALUE})")
        String duration;

        @Option(names = "--peak-nodes", paramLabel = "N", defaultValue = "6", description = "with --make-traces (default: ${DEFAULT-VALUE})")
        int peakNodes;

        @Option(names = "--startup", paramLabel = "DURATION", defaultValue = "30s", description = "node start-up delay (default: ${DEFAULT-VALUE})")
        String startup;

        @Option(names = "--transfer-ms", paramLabel = "MS", defaultValue = "5", description = "KV transfer time (default: ${DEFAULT-VALUE})")
        double transferMs;

        @Option(names = "--no-noise", description = "prefill times at the profile's median (default: drawn between its percentiles)")
        boolean noNoise;

        @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "(default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--target", paramLabel = "SHARE", defaultValue = "0.9",
                description = "attainment the cheapest fixed allocation must reach (default: ${DEFAULT-VALUE})")
        double target;

        @Option(names = "--out", paramLabel = "DIR", description = "(default: run/bench/simulate-<time>)")
        Path out;

        @Override
        public Integer call() throws Exception {
            picocli.CommandLine cl = new picocli.CommandLine(this);
            if (traces.isEmpty() && !makeTraces) {
                throw new picocli.CommandLine.ParameterException(cl, "give --trace FILE or --make-traces");
            }
            dev.baton.planner.PlannerSettings s = plan.settings();
            dev.baton.planner.CapacityModel model = plan.model();
            dev.baton.bench.plan.ClusterSimulator.Settings cs = new dev.baton.bench.plan.ClusterSimulator.Settings(
                    ServeOptions.duration(startup, "--startup").toMillis(), transferMs, !noNoise, seed);
            Path dir = out != null ? out : runDir("simulate");
            Files.createDirectories(dir);
            Map<String, List<dev.baton.planner.RequestTrace.Entry>> byName = new LinkedHashMap<>();
            for (Path p : traces) {
                String n = p.getFileName().toString().replaceFirst("\\.jsonl?$", "");
                byName.put(n, dev.baton.planner.RequestTrace.read(p));
            }
            if (makeTraces) {
                double seconds = ServeOptions.duration(duration, "--duration").toMillis() / 1000.0;
                Path td = dir.resolve("traces");
                Files.createDirectories(td);
                for (dev.baton.bench.plan.TraceGenerator.Spec spec : dev.baton.bench.plan.TraceGenerator.standard(model, s.objectives(),
                        s.maxUtilization(), seconds, peakNodes, seed)) {
                    List<dev.baton.planner.RequestTrace.Entry> t = dev.baton.bench.plan.TraceGenerator.generate(spec);
                    dev.baton.planner.RequestTrace.write(td.resolve(spec.name() + ".jsonl"), t);
                    byName.put(spec.name(), t);
                }
            }
            List<dev.baton.bench.plan.Simulation.Outcome> outcomes = new ArrayList<>();
            PrintWriter w = spec.commandLine().getOut();
            w.printf(java.util.Locale.ROOT, "objectives: TTFT p%s <= %.0f ms, ITL p%s <= %.0f ms; start-up %s%n", fmt(plan.percentile),
                    s.objectives().ttftMs(), fmt(plan.percentile), s.objectives().itlMs(), startup);
            w.printf(java.util.Locale.ROOT, "%-22s %-26s %10s %10s %10s %9s%n", "trace", "run", "attainment", "goodput/s", "node-s",
                    "vs peak");
            for (Map.Entry<String, List<dev.baton.planner.RequestTrace.Entry>> e : byName.entrySet()) {
                long t0 = System.nanoTime();
                dev.baton.bench.plan.Simulation.Outcome oc = dev.baton.bench.plan.Simulation.compare(e.getKey(), e.getValue(), model, s,
                        cs, target);
                outcomes.add(oc);
                for (dev.baton.bench.plan.ClusterSimulator.Result r : java.util.Arrays.asList(oc.planner(), oc.fixedPeak(),
                        oc.fixedModelPeak(), oc.fixedSame(), oc.fixedCheapest())) {
                    if (r == null) {
                        w.printf(java.util.Locale.ROOT, "%-22s %-26s (no fixed allocation up to the peak + 4 reaches %.2f)%n",
                                e.getKey(), "fixed-cheapest", target);
                        continue;
                    }
                    w.printf(java.util.Locale.ROOT, "%-22s %-26s %10.4f %10.2f %10.0f %8.0f%%%n", e.getKey(), r.name(), r.attainment(),
                            r.goodputPerSecond(), r.nodeSeconds(), 100 * r.nodeSeconds() / oc.fixedPeak().nodeSeconds());
                }
                w.printf(java.util.Locale.ROOT, "%-22s (%d requests, simulated in %.1f s)%n", "", e.getValue().size(),
                        (System.nanoTime() - t0) / 1e9);
                w.flush();
            }
            for (Path f : dev.baton.bench.plan.Simulation.write(outcomes, s, cs, plan.profile.getFileName().toString(), dir)) {
                System.err.println("bench simulate: " + f);
            }
            return 0;
        }

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        private static String fmt(double v) {
            return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
        }
    }
}
