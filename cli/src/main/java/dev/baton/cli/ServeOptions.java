package dev.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.bench.serve.ServeBenchmark;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.ServeSettings;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.report.ConsoleTable;
import dev.baton.bench.serve.report.ProgressBar;
import dev.baton.bench.serve.report.ReportFiles;
import dev.baton.bench.serve.workload.ApproximatePrompts;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.JsonlWorkload;
import dev.baton.bench.serve.workload.LengthDistribution;
import dev.baton.bench.serve.workload.MultiTurnWorkload;
import dev.baton.bench.serve.workload.PromptText;
import dev.baton.bench.serve.workload.RandomWorkload;
import dev.baton.bench.serve.workload.SharedPrefixWorkload;
import dev.baton.bench.serve.workload.TokenExactPrompts;
import dev.baton.bench.serve.workload.Workload;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The options of {@code bin/baton bench serve} (and of {@code bin/baton bench} given a target): targets,
 * workload, load sweep, limits, SLO and output. Parsed into a {@link ServeSettings} once.
 */
final class ServeOptions {

    @Option(names = "--target", paramLabel = "[NAME=]URL[,nodes=N][,model=M][,api-key=K]",
            description = "an OpenAI-compatible base URL (repeatable; each runs the same workload and sweep)")
    List<String> targets = new ArrayList<>();

    @Option(names = "--compare", arity = "1..*", paramLabel = "TARGET",
            description = "targets to compare in one run, same form as --target: same prompts, same arrival times, one chart")
    List<String> compare = new ArrayList<>();

    @Option(names = "--model", paramLabel = "NAME", description = "model field of requests for targets without model= "
            + "(default: the first model GET /v1/models lists)")
    String model;

    @Option(names = "--api-key", paramLabel = "KEY", description = "bearer key for targets without api-key=")
    String apiKey;

    @Option(names = "--api", paramLabel = "completions|chat", defaultValue = "completions",
            description = "endpoint (default: ${DEFAULT-VALUE}); always streamed")
    String api;

    @Option(names = "--preset", paramLabel = "prompt-heavy|decode-heavy",
            description = "input and output lengths of the oracle README's workloads: prompt-heavy 720/32, decode-heavy 75/200")
    String preset;

    @Option(names = "--workload", paramLabel = "random|shared-prefix|multi-turn|jsonl", defaultValue = "random",
            description = "what to send (default: ${DEFAULT-VALUE}); jsonl needs --prompts")
    String workload;

    @Option(names = "--input-len", paramLabel = "DIST", description = "prompt tokens: N, uniform:MIN:MAX, normal:MEAN:STD "
            + "or lognormal:MEAN:STD; with shared-prefix and multi-turn, the user prompt of each request or turn (default: 512)")
    String inputLen;

    @Option(names = "--output-len", paramLabel = "DIST", description = "max_tokens, same forms (default: 128)")
    String outputLen;

    @Option(names = "--tokenizer", paramLabel = "GGUF", description = "the served model's GGUF file: prompts of exact "
            + "token lengths (without it, about a token a word)")
    Path tokenizer;

    @Option(names = "--tenants", paramLabel = "N", defaultValue = "4", description = "shared-prefix: system prompts (default: ${DEFAULT-VALUE})")
    int tenants;

    @Option(names = "--system-tokens", paramLabel = "N", defaultValue = "512",
            description = "shared-prefix: tokens of each system prompt (default: ${DEFAULT-VALUE})")
    int systemTokens;

    @Option(names = "--turns", paramLabel = "N", defaultValue = "4", description = "multi-turn: turns per session (default: ${DEFAULT-VALUE})")
    int turns;

    @Option(names = "--think-time", paramLabel = "DURATION", defaultValue = "0ms",
            description = "multi-turn: pause before each next turn (default: ${DEFAULT-VALUE})")
    String thinkTime;

    @Option(names = "--prompts", paramLabel = "FILE", description = "jsonl: one {\"prompt\": ...} or {\"messages\": [...]} a line")
    Path prompts;

    @Option(names = "--rate", split = ",", paramLabel = "R", description = "request rates to sweep, per second, or inf "
            + "(Poisson arrivals; sessions per second for multi-turn)")
    List<String> rates = new ArrayList<>();

    @Option(names = "--burstiness", paramLabel = "K", defaultValue = "1",
            description = "gamma shape of the gaps between arrivals: 1 Poisson, below 1 burstier (default: ${DEFAULT-VALUE})")
    double burstiness;

    @Option(names = "--concurrency", split = ",", paramLabel = "N", description = "concurrent clients to sweep (closed loop)")
    List<Integer> concurrency = new ArrayList<>();

    @Option(names = "--requests", paramLabel = "N", defaultValue = "100", description = "requests per load point (default: ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--duration", paramLabel = "DURATION", description = "no request starts later than this into a load point (e.g. 60s)")
    String duration;

    @Option(names = "--max-in-flight", paramLabel = "N", defaultValue = "256",
            description = "rate mode: requests in flight at most, later arrivals wait (default: ${DEFAULT-VALUE})")
    int maxInFlight;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2",
            description = "requests sent one at a time to each target before measuring (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--slo", paramLabel = "ttft=500ms,tpot=50ms", description = "objectives for goodput (ttft, tpot, e2e)")
    String slo;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "seed of prompts, lengths and arrivals (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--ignore-eos", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "send ignore_eos: true so outputs are exactly max_tokens long (default: on; --no-ignore-eos for servers that refuse it)")
    boolean ignoreEos;

    @Option(names = "--session-ids", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "send each session's id as the request's user field, so that a server with sticky sessions "
                    + "keeps a conversation on one node (default: on; --no-session-ids to measure without)")
    boolean sessionIds;

    @Option(names = "--extra-body", paramLabel = "JSON", description = "fields merged into every request, e.g. '{\"temperature\": 0}'")
    String extraBody;

    @Option(names = "--request-timeout", paramLabel = "DURATION", defaultValue = "300s",
            description = "limit on one request, send to end of stream (default: ${DEFAULT-VALUE})")
    String requestTimeout;

    @Option(names = "--out", paramLabel = "DIR", description = "where results.json, summary.csv, requests.csv, the charts "
            + "and report.html go (default: run/bench/serve-<time>)")
    Path out;

    @Option(names = "--charts", split = ",", paramLabel = "png|svg", defaultValue = "png,svg",
            description = "chart formats (default: ${DEFAULT-VALUE}); none to skip the image files")
    List<String> charts;

    @Option(names = "--no-progress", description = "no live progress line (one line per finished point still)")
    boolean noProgress;

    /** Whether any target was given (so {@code bin/baton bench} runs instead of printing its usage). */
    boolean hasTargets() {
        return !targets.isEmpty() || !compare.isEmpty();
    }

    /** Parses and checks every option. */
    ServeSettings settings() throws IOException {
        List<Target> list = new ArrayList<>();
        for (String spec : targets) {
            list.add(target(spec));
        }
        for (String spec : compare) {
            list.add(target(spec));
        }
        if (!compare.isEmpty() && list.size() < 2) {
            throw new IllegalArgumentException("--compare needs at least two targets in all");
        }
        Api theApi = Api.parse(api);
        String in = inputLen;
        String outLen = outputLen;
        if (preset != null) {
            switch (preset) {
                case "prompt-heavy" -> {
                    in = in == null ? "720" : in;
                    outLen = outLen == null ? "32" : outLen;
                }
                case "decode-heavy" -> {
                    in = in == null ? "75" : in;
                    outLen = outLen == null ? "200" : outLen;
                }
                default -> throw new IllegalArgumentException("--preset: unknown preset \"" + preset + "\" (prompt-heavy or decode-heavy)");
            }
        }
        LengthDistribution input = LengthDistribution.parse(in == null ? "512" : in, "--input-len");
        LengthDistribution output = LengthDistribution.parse(outLen == null ? "128" : outLen, "--output-len");
        Workload w = workload(theApi, input, output);
        List<LoadSpec> loads = new ArrayList<>();
        for (String r : rates) {
            loads.add(LoadSpec.parseRate(r, burstiness));
        }
        for (int c : concurrency) {
            loads.add(new LoadSpec.Concurrency(c));
        }
        if (!rates.isEmpty() && !concurrency.isEmpty()) {
            throw new IllegalArgumentException("give --rate or --concurrency, not both");
        }
        if (loads.isEmpty()) {
            loads.add(new LoadSpec.Concurrency(1));
        }
        LoadRunner.Limits limits = new LoadRunner.Limits(requests, duration == null ? null : duration(duration, "--duration"),
                duration(thinkTime, "--think-time", true), maxInFlight);
        ClientOptions client = new ClientOptions(ignoreEos, extraBody(), duration(requestTimeout, "--request-timeout"),
                Duration.ofSeconds(10), sessionIds);
        return new ServeSettings(list, theApi, w, loads, limits, warmup, Slo.parse(slo), seed, client);
    }

    private Target target(String spec) {
        Target t = Target.parse(spec);
        if (t.model() == null && model != null) {
            t = t.withModel(model);
        }
        if (t.apiKey() == null && apiKey != null) {
            t = new Target(t.name(), t.baseUrl(), t.model(), t.nodes(), apiKey);
        }
        return t;
    }

    private Workload workload(Api theApi, LengthDistribution input, LengthDistribution output) throws IOException {
        return switch (workload.toLowerCase(Locale.ROOT)) {
            case "random" -> new RandomWorkload(prompts(theApi, tokenizer), input, output);
            case "shared-prefix" -> new SharedPrefixWorkload(prompts(theApi, tokenizer), theApi, tenants, systemTokens, input, output);
            case "multi-turn" -> new MultiTurnWorkload(prompts(theApi, tokenizer), theApi, turns, input, output);
            case "jsonl" -> {
                if (prompts == null) {
                    throw new IllegalArgumentException("--workload jsonl needs --prompts FILE");
                }
                yield JsonlWorkload.read(prompts, output);
            }
            default -> throw new IllegalArgumentException("--workload: unknown workload \"" + workload
                    + "\" (random, shared-prefix, multi-turn or jsonl)");
        };
    }

    /** Exact prompts from a GGUF's tokenizer, or approximate ones without. */
    static PromptText prompts(Api api, Path gguf) throws IOException {
        if (gguf == null) {
            return new ApproximatePrompts();
        }
        try (GgufFile f = GgufFile.open(gguf)) {
            return new TokenExactPrompts(Tokenizer.fromGguf(f.metadata()), api == Api.COMPLETIONS);
        }
    }

    private ObjectNode extraBody() {
        if (extraBody == null) {
            return null;
        }
        try {
            JsonNode n = new ObjectMapper().readTree(extraBody);
            if (!n.isObject()) {
                throw new IllegalArgumentException("--extra-body must be a JSON object, got " + extraBody);
            }
            return (ObjectNode) n;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException("--extra-body is not JSON: " + e.getOriginalMessage());
        }
    }

    static Duration duration(String value, String what) {
        return duration(value, what, false);
    }

    static Duration duration(String value, String what, boolean zeroAllowed) {
        if (zeroAllowed && value.trim().matches("0+(\\.0*)?(ms|s|us)?")) {
            return Duration.ZERO;
        }
        return Duration.ofNanos(Math.round(Slo.parseMillis(value, what) * 1e6));
    }

    /** Runs the benchmark: progress on {@code err}, tables on {@code out}, files under {@code --out}. */
    int run(PrintWriter out, PrintWriter err) throws IOException {
        for (String c : charts) {
            if (!List.of("png", "svg", "none").contains(c)) {
                throw new IllegalArgumentException("--charts: unknown format \"" + c + "\" (png, svg or none)");
            }
        }
        ServeSettings s = settings();
        Path dir = this.out != null ? this.out
                : Path.of(System.getProperty("baton.home", "."), "run", "bench",
                        "serve-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        err.println("bench: " + s.workload().describe() + "; " + s.targets().size() + " target(s), "
                + String.join(", ", s.loads().stream().map(LoadSpec::label).toList()) + ", " + s.limits().maxRequests()
                + " requests per point");
        ServeReport report = new ServeBenchmark(s).run(new ProgressBar(err, !noProgress && BenchCommand.terminal()));
        out.print(ConsoleTable.render(report));
        out.flush();
        boolean png = charts.contains("png");
        boolean svg = charts.contains("svg");
        ReportFiles.write(report, dir, png, svg);
        err.println("bench: results in " + dir.toAbsolutePath().normalize() + " (report.html, results.json, summary.csv, requests.csv)");
        long completed = report.targets().stream().flatMap(t -> t.points().stream()).mapToLong(p -> p.summary().completed()).sum();
        if (completed == 0) {
            err.println("bench: no request completed; see the errors column and requests.csv");
            return 1;
        }
        return 0;
    }
}
