package dev.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.bench.chaos.ChaosLoad;
import dev.baton.bench.chaos.ChaosReport;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.metrics.RequestResult;
import dev.baton.bench.serve.report.JsonReport;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.Message;
import dev.baton.bench.serve.workload.PromptText;
import dev.baton.cli.planner.PortProbe;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton bench chaos}: starts a local cluster of separate processes (router, prefill and decode nodes, as
 * {@code bin/baton up} does, through {@link NodeLauncher}), computes the undisturbed text of a set of greedy (or
 * seeded) prompts through it, then runs a steady streamed load for a set time while a random engine node is killed
 * (SIGKILL, a fresh node started in its place) or frozen (SIGSTOP, SIGCONT later) every so often. Reports requests
 * served, client-visible failures, streams with gaps, repeats or other wrong text, each fault's rejoin and recovery
 * times, the router's migrations and the KV blocks each node still uses once idle; exits 1 when a stream's text was
 * wrong or a block leaked, 2 when the cluster could not be started or the undisturbed texts computed.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fault injection under load: a local cluster (router, prefill and decode nodes as processes), a "
                + "steady stream of greedy or seeded requests, and a random engine node killed (SIGKILL, then replaced) "
                + "or frozen (SIGSTOP for --stop-for) every --fault-every. Checks every stream's text against the "
                + "undisturbed one and every node's KV blocks once idle; writes results.json.",
                "Exit status: 0 passed, 1 streams with gaps/repeats/wrong text or leaked blocks, 2 no cluster.",
                "Example: bin/baton bench chaos --model ../shared/oracle/models/tiny-f32.gguf --duration 3m --fault-every 30s"})
final class ChaosCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MIGRATIONS = Pattern.compile(
            "^baton_router_migrations_total\\{[^}]*reason=\"([^\"]+)\"[^}]*}\\s+([0-9.eE+-]+)", Pattern.MULTILINE);

    @Option(names = "--duration", paramLabel = "DURATION", defaultValue = "10m", description = "how long the load runs (default: ${DEFAULT-VALUE})")
    String duration;

    @Option(names = "--concurrency", paramLabel = "C", description = "streams kept running, back to back (default: 4 unless --rate)")
    Integer concurrency;

    @Option(names = "--rate", paramLabel = "R", description = "requests per second, Poisson arrivals (instead of --concurrency)")
    Double rate;

    @Option(names = "--prompts", paramLabel = "K", defaultValue = "16", description = "distinct prompts, used in turn (default: ${DEFAULT-VALUE})")
    int promptCount;

    @Option(names = "--input-len", paramLabel = "N", defaultValue = "64",
            description = "prompt tokens (exact with --model, else about a token a word) (default: ${DEFAULT-VALUE})")
    int inputLen;

    @Option(names = "--output-len", paramLabel = "N", defaultValue = "128", description = "output tokens, ignore_eos (default: ${DEFAULT-VALUE})")
    int outputLen;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 for greedy; above 0 seeded sampling with --seed (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "prompts, arrivals, faults and sampling (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--fault-every", paramLabel = "DURATION", defaultValue = "30s", description = "(default: ${DEFAULT-VALUE})")
    String faultEvery;

    @Option(names = "--faults", split = ",", paramLabel = "kill|stop", defaultValue = "kill",
            description = "fault kinds, drawn at random: kill (SIGKILL, a fresh node in its place), stop (SIGSTOP for "
                    + "--stop-for, then SIGCONT) (default: ${DEFAULT-VALUE})")
    List<String> faults;

    @Option(names = "--stop-for", paramLabel = "DURATION", defaultValue = "5s", description = "(default: ${DEFAULT-VALUE})")
    String stopFor;

    @Option(names = "--fault-roles", split = ",", paramLabel = "prefill|decode", defaultValue = "prefill,decode",
            description = "roles of the nodes faults hit (default: ${DEFAULT-VALUE})")
    List<String> faultRoles;

    @Option(names = "--prefill", paramLabel = "P", defaultValue = "1", description = "(default: ${DEFAULT-VALUE})")
    int prefill;

    @Option(names = "--decode", paramLabel = "D", defaultValue = "2", description = "(default: ${DEFAULT-VALUE})")
    int decode;

    @Option(names = "--model", paramLabel = "PATH", description = "GGUF model (default: the embedded demo model)")
    Path model;

    @Option(names = "--config", paramLabel = "FILE", description = "configuration file for every process")
    Path config;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1", description = "compute threads per node (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--node-heap", paramLabel = "SIZE", defaultValue = "512m", description = "JVM heap per process (default: ${DEFAULT-VALUE})")
    String heap;

    @Option(names = "--cluster-port", paramLabel = "P", defaultValue = "25620",
            description = "first Pekko port tried; the router's HTTP and the nodes' KV ports are free ones too (default: ${DEFAULT-VALUE})")
    int clusterPort;

    @Option(names = "--ready-timeout", paramLabel = "DURATION", defaultValue = "180s", description = "(default: ${DEFAULT-VALUE})")
    String readyTimeout;

    @Option(names = "--request-timeout", paramLabel = "DURATION", defaultValue = "120s", description = "(default: ${DEFAULT-VALUE})")
    String requestTimeout;

    @Option(names = "--idle-timeout", paramLabel = "DURATION", defaultValue = "30s",
            description = "how long the cluster may take to free every block after the load (default: ${DEFAULT-VALUE})")
    String idleTimeout;

    @Option(names = "--recovery-window", paramLabel = "DURATION", defaultValue = "2s",
            description = "recovered: the first window this long after a fault at --recovery-fraction of the rate "
                    + "before it (default: ${DEFAULT-VALUE})")
    String recoveryWindow;

    @Option(names = "--pre-fault-window", paramLabel = "DURATION", defaultValue = "10s", description = "(default: ${DEFAULT-VALUE})")
    String preFaultWindow;

    @Option(names = "--recovery-fraction", paramLabel = "SHARE", defaultValue = "0.8", description = "(default: ${DEFAULT-VALUE})")
    double recoveryFraction;

    @Option(names = "--out", paramLabel = "DIR", description = "results.json and the processes' logs (default: run/bench/chaos-<time>)")
    Path out;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** A node process this command started. */
    private record Node(String id, String role, Process process, int clusterPort) {}

    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Integer> counts = new LinkedHashMap<>();
    private final PortProbe ports = PortProbe.system();
    private Path logs;
    private List<String> common;
    private String seedAddress;
    private final List<Process> frozen = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        long durationMs = duration(duration, "--duration").toMillis();
        long everyMs = duration(faultEvery, "--fault-every").toMillis();
        long stopMs = duration(stopFor, "--stop-for").toMillis();
        Duration ready = duration(readyTimeout, "--ready-timeout");
        Duration idleLimit = duration(idleTimeout, "--idle-timeout");
        ChaosReport.RecoveryRule rule = new ChaosReport.RecoveryRule(
                duration(preFaultWindow, "--pre-fault-window").toMillis(),
                duration(recoveryWindow, "--recovery-window").toMillis(), recoveryFraction);
        check();
        int c = concurrency != null ? concurrency : rate == null ? 4 : 0;
        double r = rate != null ? rate : 0;
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter outw = spec.commandLine().getOut();
        Path dir = out != null ? out : BenchCommand.runDir("chaos");
        logs = dir.resolve("logs");
        Files.createDirectories(logs);
        Path pids = logs.resolve("pids");
        Files.writeString(pids, "");
        common = new ArrayList<>();
        if (model != null) {
            common.addAll(List.of("--model", model.toAbsolutePath().toString()));
        }
        if (config != null) {
            common.addAll(List.of("--config", config.toAbsolutePath().toString()));
        }
        common.addAll(List.of("--threads", Integer.toString(threads)));
        Thread cleanup = new Thread(() -> stopAll(pids));
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            int httpPort = ports.tcp(8100, "the router's --port");
            int seedPort = ports.tcp(clusterPort, "the router's --cluster-port");
            seedAddress = "127.0.0.1:" + seedPort;
            List<String> router = new ArrayList<>(List.of("router", "--port", Integer.toString(httpPort), "--cluster-port",
                    Integer.toString(seedPort), "--seed", seedAddress));
            router.addAll(common);
            Process routerProcess = NodeLauncher.start(logs.resolve("router.log"), heap, router);
            appendPid(pids, routerProcess);
            for (int i = 0; i < prefill; i++) {
                startNode("prefill", pids);
            }
            for (int i = 0; i < decode; i++) {
                startNode("decode", pids);
            }
            String base = "http://127.0.0.1:" + httpPort;
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            err.println("bench chaos: starting a router, " + prefill + " prefill and " + decode + " decode node(s); logs in " + logs);
            err.flush();
            List<Long> all = new ArrayList<>(List.of(routerProcess.pid()));
            nodes.forEach(n -> all.add(n.process().pid()));
            if (!UpCommand.waitReady(base, ready, all) || !awaitNodes(http, base, prefill + decode, ready)) {
                err.println("bench chaos: the cluster did not become ready in " + readyTimeout + "; logs in " + logs);
                printExited(err, routerProcess, "router");
                for (Node n : nodes) {
                    printExited(err, n.process(), n.id());
                }
                return 2;
            }
            ObjectNode extra = JSON.createObjectNode().put("temperature", temperature);
            if (temperature > 0) {
                extra.put("seed", seed);
            }
            ClientOptions options = new ClientOptions(true, extra, duration(requestTimeout, "--request-timeout"),
                    Duration.ofSeconds(10));
            try (OpenAiClient client = new OpenAiClient(Target.parse("baton=" + base + "/v1"), Api.COMPLETIONS, options)) {
                String modelName = client.resolveModel();
                List<String> prompts = prompts();
                err.println("bench chaos: computing the undisturbed text of " + prompts.size() + " prompts");
                err.flush();
                List<String> expected = references(client, modelName, prompts, outputLen, Math.max(1, c));
                if (expected == null) {
                    err.println("bench chaos: a request failed before any fault; logs in " + logs);
                    return 2;
                }
                Map<String, Double> migrationsBefore = migrations(http, base);
                String load = (c > 0 ? "concurrency " + c : "rate " + r + "/s") + ", " + prompts.size() + " prompts of "
                        + inputLen + " -> " + outputLen + " tokens, " + (temperature > 0 ? "temperature " + temperature
                        + " seed " + seed : "greedy") + "; faults " + faults + " on " + faultRoles + " every " + faultEvery;
                err.println("bench chaos: " + load + ", for " + duration);
                err.flush();
                long startNs = System.nanoTime();
                ChaosLoad chaosLoad = new ChaosLoad(client, modelName, prompts, outputLen, c, r, seed);
                CompletableFuture<List<ChaosLoad.Outcome>> loadDone = CompletableFuture.supplyAsync(() -> {
                    try {
                        return chaosLoad.run(startNs, durationMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                }, runnable -> Thread.ofPlatform().name("chaos-load").start(runnable));
                List<ChaosReport.FaultEvent> events = injectFaults(http, base, startNs, durationMs, everyMs, stopMs, pids, err);
                List<ChaosLoad.Outcome> outcomes = loadDone.get();
                err.println("bench chaos: load over (" + outcomes.size() + " requests); waiting for the cluster to go idle");
                err.flush();
                Map<String, Integer> leaked = new LinkedHashMap<>();
                boolean idle = awaitIdle(http, base, prefill + decode, idleLimit, leaked);
                Map<String, Double> migrations = migrations(http, base);
                migrationsBefore.forEach((k, v) -> migrations.merge(k, -v, Double::sum));
                Map<String, Object> settings = settings(load, c, r);
                ChaosReport report = ChaosReport.build(settings, startNs, durationMs, expected, outcomes, events, rule,
                        migrations, leaked, idle);
                Files.createDirectories(dir);
                JsonReport.mapper().writeValue(dir.resolve("results.json").toFile(), report);
                outw.print(report.table());
                outw.flush();
                err.println("bench chaos: " + dir.resolve("results.json").toAbsolutePath().normalize());
                return report.ok() ? 0 : 1;
            }
        } finally {
            stopAll(pids);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    /** A duration such as {@code 500ms}, {@code 30s}, {@code 10m} or {@code 1h}. */
    static Duration duration(String value, String what) {
        Matcher m = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(m|min|h)\\s*").matcher(value);
        if (m.matches()) {
            double n = Double.parseDouble(m.group(1));
            return Duration.ofMillis(Math.round(n * (m.group(2).equals("h") ? 3_600_000 : 60_000)));
        }
        return ServeOptions.duration(value, what);
    }

    /** The end of the log of a process that exited, for a start-up that failed. */
    private void printExited(PrintWriter err, Process p, String name) {
        if (p.isAlive()) {
            return;
        }
        try {
            List<String> lines = Files.readAllLines(logs.resolve(name + ".log"));
            err.println("bench chaos: " + name + " exited with " + p.exitValue() + "; the end of its log:");
            lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> err.println("  " + l));
        } catch (IOException | RuntimeException e) {
            err.println("bench chaos: " + name + " exited; its log cannot be read: " + e);
        }
        err.flush();
    }

    private void check() {
        picocli.CommandLine cl = spec.commandLine();
        if (prefill < 1 || decode < 1) {
            throw new picocli.CommandLine.ParameterException(cl, "--prefill and --decode must be at least 1, got " + prefill
                    + " and " + decode);
        }
        if (concurrency != null && rate != null) {
            throw new picocli.CommandLine.ParameterException(cl, "give --concurrency or --rate, not both");
        }
        if (concurrency != null && (concurrency < 1 || concurrency > 1024)) {
            throw new picocli.CommandLine.ParameterException(cl, "--concurrency must be 1 to 1024, got " + concurrency);
        }
        if (rate != null && !(rate > 0 && rate <= 1000)) {
            throw new picocli.CommandLine.ParameterException(cl, "--rate must be above 0 and at most 1000, got " + rate);
        }
        if (promptCount < 1 || promptCount > 1000 || inputLen < 1 || outputLen < 1) {
            throw new picocli.CommandLine.ParameterException(cl, "--prompts (1 to 1000), --input-len and --output-len must "
                    + "be at least 1, got " + promptCount + ", " + inputLen + " and " + outputLen);
        }
        if (temperature < 0 || !Double.isFinite(temperature)) {
            throw new picocli.CommandLine.ParameterException(cl, "--temperature must be 0 or more, got " + temperature);
        }
        for (String f : faults) {
            if (!f.equals("kill") && !f.equals("stop")) {
                throw new picocli.CommandLine.ParameterException(cl, "--faults: unknown fault \"" + f + "\" (kill or stop)");
            }
        }
        for (String role : faultRoles) {
            if (!role.equals("prefill") && !role.equals("decode")) {
                throw new picocli.CommandLine.ParameterException(cl, "--fault-roles: unknown role \"" + role + "\" (prefill or decode)");
            }
        }
        if (!(recoveryFraction > 0 && recoveryFraction <= 1)) {
            throw new picocli.CommandLine.ParameterException(cl, "--recovery-fraction must be in (0, 1], got " + recoveryFraction);
        }
    }

    private Map<String, Object> settings(String load, int c, double r) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("load", load);
        s.put("duration", duration);
        s.put("concurrency", c);
        s.put("rate", r);
        s.put("prompts", promptCount);
        s.put("inputLen", inputLen);
        s.put("outputLen", outputLen);
        s.put("temperature", temperature);
        s.put("seed", seed);
        s.put("faultEvery", faultEvery);
        s.put("faults", faults);
        s.put("stopFor", stopFor);
        s.put("faultRoles", faultRoles);
        s.put("prefill", prefill);
        s.put("decode", decode);
        s.put("model", model == null ? "(embedded demo model)" : model.toString());
        s.put("threads", threads);
        s.put("cpu", cpuModel());
        return s;
    }

    /** The prompts, token-exact when the model file is known. */
    private List<String> prompts() throws IOException {
        PromptText text = ServeOptions.prompts(Api.COMPLETIONS, model);
        SplittableRandom rng = new SplittableRandom(seed);
        List<String> p = new ArrayList<>();
        for (int i = 0; i < promptCount; i++) {
            p.add(text.text(rng, inputLen));
        }
        return p;
    }

    /** Each prompt's text through the undisturbed cluster, {@code parallel} at a time; null if one request failed. */
    private static List<String> references(OpenAiClient client, String model, List<String> prompts, int maxTokens,
            int parallel)
            throws Exception {
        String[] texts = new String[prompts.size()];
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(parallel);
        List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (String p : prompts) {
                futures.add(CompletableFuture.supplyAsync(() -> {
                    slots.acquireUninterruptibly();
                    try {
                        return client.send(model, List.of(new Message("user", p)), maxTokens);
                    } finally {
                        slots.release();
                    }
                }, threads));
            }
        }
        for (int i = 0; i < texts.length; i++) {
            RequestResult r = futures.get(i).get();
            if (!r.ok()) {
                return null;
            }
            texts[i] = r.text();
        }
        return List.of(texts);
    }

    private Node startNode(String role, Path pids) throws IOException {
        // ids unique among this host's chaos runs (readable in logs and /v1/cluster): c<router's Pekko port>-<role>-<n>
        String id = "c" + seedAddress.substring(seedAddress.lastIndexOf(':') + 1) + "-" + role + "-"
                + counts.merge(role, 1, Integer::sum);
        int cluster = ports.tcp(clusterPort, id + "'s --cluster-port");
        int kv = ports.udpPair(24000, id + "'s --kv-port and --kv-reply-port");
        List<String> args = new ArrayList<>(List.of(role, "--cluster-port", Integer.toString(cluster), "--seed", seedAddress,
                "--node-id", id, "--kv-port", Integer.toString(kv), "--kv-reply-port", Integer.toString(kv + 1)));
        args.addAll(common);
        Process p = NodeLauncher.start(logs.resolve(id + ".log"), heap, args);
        appendPid(pids, p);
        Node n = new Node(id, role, p, cluster);
        nodes.add(n);
        return n;
    }

    private static void appendPid(Path pids, Process p) throws IOException {
        Files.writeString(pids, p.pid() + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /**
     * Faults every {@code everyMs} from the load's start while the load runs: a random node of the fault roles is
     * killed (and a fresh one started) or frozen (and woken); the next fault waits until the cluster has its nodes back.
     */
    private List<ChaosReport.FaultEvent> injectFaults(HttpClient http, String base, long startNs, long durationMs,
            long everyMs, long stopMs, Path pids, PrintWriter err) throws Exception {
        List<ChaosReport.FaultEvent> events = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        long nextMs = everyMs;
        while (nextMs < durationMs) {
            long waitMs = nextMs - elapsedMs(startNs);
            if (waitMs > 0) {
                Thread.sleep(waitMs);
            }
            List<Node> candidates = nodes.stream().filter(n -> faultRoles.contains(n.role()) && n.process().isAlive()).toList();
            if (candidates.isEmpty()) {
                break;
            }
            Node victim = candidates.get(rng.nextInt(candidates.size()));
            String kind = faults.get(rng.nextInt(faults.size()));
            long atMs = elapsedMs(startNs);
            long atNs = System.nanoTime();
            String replacement = null;
            long stoppedMs = 0;
            boolean back;
            if (kind.equals("kill")) {
                victim.process().destroyForcibly();
                victim.process().waitFor(10, TimeUnit.SECONDS);
                nodes.remove(victim);
                removeAeronDirectory(victim.id(), victim.clusterPort());
                replacement = startNode(victim.role(), pids).id();
                back = awaitNode(http, base, replacement, Duration.ofSeconds(120));
            } else {
                signal(victim.process(), "STOP");
                frozen.add(victim.process());
                Thread.sleep(stopMs);
                signal(victim.process(), "CONT");
                frozen.remove(victim.process());
                stoppedMs = stopMs;
                back = awaitNodeOrExit(http, base, victim, Duration.ofSeconds(30));
                if (!back) {
                    // downed by the cluster while frozen: it leaves and exits; a fresh node takes its place
                    victim.process().destroyForcibly();
                    victim.process().waitFor(10, TimeUnit.SECONDS);
                    nodes.remove(victim);
                    removeAeronDirectory(victim.id(), victim.clusterPort());
                    replacement = startNode(victim.role(), pids).id();
                    back = awaitNode(http, base, replacement, Duration.ofSeconds(120));
                }
            }
            long rejoinMs = back ? TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - atNs) : -1;
            events.add(new ChaosReport.FaultEvent(kind, victim.id(), victim.role(), atMs, stoppedMs, replacement, rejoinMs));
            err.printf(Locale.ROOT, "bench chaos: %.1f s: %s %s%s; cluster whole again %s%n", atMs / 1000.0, kind, victim.id(),
                    replacement == null ? "" : ", replaced by " + replacement,
                    back ? "after " + rejoinMs + " ms" : "NOT within the limit");
            err.flush();
            nextMs += everyMs;
            while (nextMs <= elapsedMs(startNs)) {
                nextMs += everyMs;
            }
        }
        return events;
    }

    private static long elapsedMs(long startNs) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
    }

    private static void signal(Process p, String sig) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true).start();
        k.getInputStream().readAllBytes();
        k.waitFor(5, TimeUnit.SECONDS);
    }

    /** The default Aeron directory of a killed node (its driver cannot remove it): removed so /dev/shm does not fill. */
    private static void removeAeronDirectory(String nodeId, int clusterPort) {
        for (Path base : List.of(Path.of("/dev/shm"), Path.of(System.getProperty("java.io.tmpdir")))) {
            Path d = base.resolve(KvOptions.aeronDirectoryName(nodeId, clusterPort));
            if (Files.isDirectory(d)) {
                try (Stream<Path> walk = Files.walk(d)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    // left behind; the next run's driver clears a stale directory of the same name
                }
            }
        }
    }

    private static JsonNode cluster(HttpClient http, String base) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/cluster")).timeout(Duration.ofSeconds(5))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET /v1/cluster answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body()).path("nodes");
    }

    private static boolean serving(JsonNode n) {
        return n.path("reachable").asBoolean() && n.at("/kv/blocks_total").asInt() > 0;
    }

    /** Waits until {@code count} nodes are reachable with their KV pools reported. */
    private static boolean awaitNodes(HttpClient http, String base, int count, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                int n = 0;
                for (JsonNode node : cluster(http, base)) {
                    n += serving(node) ? 1 : 0;
                }
                if (n >= count) {
                    return true;
                }
            } catch (IOException notYet) {
                // the router is busy or restarting its listener
            }
            Thread.sleep(200);
        }
        return false;
    }

    private static boolean awaitNode(HttpClient http, String base, String id, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (isServing(http, base, id)) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }

    /** Waits until a woken node serves again; false when it exited or did not within {@code limit}. */
    private static boolean awaitNodeOrExit(HttpClient http, String base, Node node, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline && node.process().isAlive()) {
            if (isServing(http, base, node.id())) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }

    private static boolean isServing(HttpClient http, String base, String id) throws InterruptedException {
        try {
            for (JsonNode n : cluster(http, base)) {
                if (n.path("node").asText().equals(id) && serving(n)) {
                    return true;
                }
            }
        } catch (IOException notYet) {
            // asked again on the next round
        }
        return false;
    }

    /**
     * Waits until {@code count} nodes are reachable, each with no block used, nothing running and nothing in flight;
     * fills {@code blocksUsed} with each reachable node's used blocks as last seen. False when that did not happen in time.
     */
    private static boolean awaitIdle(HttpClient http, String base, int count, Duration limit, Map<String, Integer> blocksUsed)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            int idle = 0;
            try {
                blocksUsed.clear();
                for (JsonNode n : cluster(http, base)) {
                    if (n.path("reachable").asBoolean()) {
                        int used = n.at("/kv/blocks_used").asInt();
                        blocksUsed.put(n.path("node").asText(), used);
                        idle += used == 0 && n.path("running").asInt() == 0 && n.path("in_flight").asInt() == 0 ? 1 : 0;
                    }
                }
            } catch (IOException e) {
                idle = -1;
            }
            if (idle >= count) {
                return true;
            }
            if (System.nanoTime() >= deadline) {
                return false;
            }
            Thread.sleep(250);
        }
    }

    /** {@code baton_router_migrations_total} by reason. */
    private static Map<String, Double> migrations(HttpClient http, String base) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).timeout(Duration.ofSeconds(5))
                .build(), HttpResponse.BodyHandlers.ofString());
        Map<String, Double> m = new LinkedHashMap<>();
        Matcher x = MIGRATIONS.matcher(r.body());
        while (x.find()) {
            m.merge(x.group(1), Double.parseDouble(x.group(2)), Double::sum);
        }
        return m;
    }

    /** Wakes what this command froze and stops every process it started (nodes first, the router last). */
    private void stopAll(Path pids) {
        try {
            for (Process p : List.copyOf(frozen)) {
                signal(p, "CONT");
            }
            frozen.clear();
            DownCommand.stop(pids);
        } catch (IOException | InterruptedException e) {
            System.err.println("bench chaos: could not stop every process (" + e + "); pids in " + pids);
        }
    }

    static String cpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst()
                    .orElse("unknown");
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
