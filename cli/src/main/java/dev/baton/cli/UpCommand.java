package dev.baton.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton up}: starts a local cluster (router and nodes) as separate JVM processes, each in
 * its own session so that a Ctrl-C in this terminal does not stop them, waits until the router's
 * {@code /ready} answers 200, and prints where everything is. {@code bin/baton down} stops it.
 *
 * <p>Several models ({@code --model} more than once): the pools ({@code --prefill}/{@code --decode}, or
 * {@code --workers} with {@code --colocated}) are started for each model, node ids prefixed with the model's id, and
 * one router serves them all; every process runs with {@code --join-check by-name}.
 */
@Command(name = "up", mixinStandardHelpOptions = true, description = "Start a local cluster of separate processes.")
final class UpCommand implements Callable<Integer> {

    @Option(names = "--prefill", paramLabel = "N", defaultValue = "1", description = "prefill nodes (default: ${DEFAULT-VALUE})")
    int prefill;

    @Option(names = "--decode", paramLabel = "M", defaultValue = "1", description = "decode nodes (default: ${DEFAULT-VALUE})")
    int decode;

    @Option(names = "--colocated", description = "serve with worker nodes (prefill and decode in one process) instead")
    boolean colocated;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
            description = "worker nodes with --colocated (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--model", paramLabel = "PATH",
            description = "GGUF model (default: the embedded demo model); once per model to serve several, each with its own pools")
    List<Path> models = new ArrayList<>();

    @Option(names = "--draft-model", paramLabel = "PATH", description = "speculative decoding on the decode (or worker) "
            + "nodes with drafts from this smaller GGUF with the model's vocabulary (one --model only)")
    Path draftModel;

    @Option(names = "--gpus", paramLabel = "N", defaultValue = "0", description = "run the engine nodes on the cuda "
            + "backend, node i on GPU i mod N (default: ${DEFAULT-VALUE}: the CPU)")
    int gpus;

    @Option(names = "--port", paramLabel = "P", defaultValue = "8000",
            description = "HTTP port of the router; node i serves its metrics on the first free port from P+i (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--cluster-port", paramLabel = "P", defaultValue = "25520",
            description = "Pekko port of the router, the seed; nodes take the next ones (default: ${DEFAULT-VALUE})")
    int clusterPort;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads per node (default: all cores)")
    Integer threads;

    @Option(names = "--config", paramLabel = "FILE", description = "configuration file for every process")
    Path config;

    @Option(names = "--node-heap", paramLabel = "SIZE", defaultValue = "1g", description = "JVM heap per process (default: ${DEFAULT-VALUE})")
    String heap;

    @Option(names = "--ready-timeout", paramLabel = "SECONDS", defaultValue = "120", description = "(default: ${DEFAULT-VALUE})")
    int readyTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (colocated ? workers < 1 : prefill < 1 || decode < 1) {
            throw new IllegalArgumentException(colocated ? "--workers must be at least 1, got " + workers
                    : "--prefill and --decode must be at least 1, got " + prefill + " and " + decode);
        }
        if (models.stream().map(UpCommand::modelId).distinct().count() < models.size()) {
            throw new IllegalArgumentException("two --model files have the same name: each model is served under its"
                    + " file name, so the names must differ");
        }
        if (gpus < 0) {
            throw new IllegalArgumentException("--gpus must be 0 (the CPU) or more, got " + gpus);
        }
        if (draftModel != null && models.size() != 1) {
            throw new IllegalArgumentException("--draft-model drafts for one model: give exactly one --model with it"
                    + (models.isEmpty() ? " (the demo model has no smaller sibling)" : ", not " + models.size()));
        }
        if (draftModel != null && !Files.isRegularFile(draftModel)) {
            throw new IllegalArgumentException("--draft-model " + draftModel + ": no such file");
        }
        Path home = Path.of(System.getProperty("baton.home", ".")).toAbsolutePath().normalize();
        Path runs = home.resolve("run");
        Path current = runs.resolve("current");
        if (Files.exists(current.resolve("pids")) && anyAlive(current.resolve("pids"))) {
            throw new IllegalStateException("a cluster is already running (" + current.toRealPath()
                    + "); stop it with bin/baton down");
        }
        Path dir = runs.resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(dir);
        Files.deleteIfExists(current);
        Files.createSymbolicLink(current, dir.getFileName());
        List<String> common = new ArrayList<>();
        boolean several = models.size() > 1;
        if (several) {
            common.addAll(List.of("--join-check", "by-name"));
        }
        if (config != null) {
            common.addAll(List.of("--config", config.toAbsolutePath().toString()));
        }
        if (threads != null) {
            common.addAll(List.of("--threads", threads.toString()));
        }
        String seed = "127.0.0.1:" + clusterPort;
        List<Long> pids = new ArrayList<>();
        List<String> router = new ArrayList<>(List.of("router", "--port", Integer.toString(port), "--cluster-port",
                Integer.toString(clusterPort), "--seed", seed));
        router.addAll(common);
        // Each node's ports are the first free ones from where they would be (cluster port + 1 + i, HTTP port + 1 + i,
        // KV at 20000 + its cluster port % 20000): a port some other process holds (an ephemeral port of a connection,
        // another cluster) would make the node exit at start with "Address already in use".
        dev.baton.cli.planner.PortProbe ports = dev.baton.cli.planner.PortProbe.system();
        ports.reserve(port);
        ports.reserve(clusterPort);
        // With the API over HTTPS (baton.router.tls), readiness is read from the router's management endpoint
        // (plain HTTP on loopback: /ready there is the router's readiness), so the probe needs no trust in its
        // certificate.
        com.typesafe.config.Config routerConfig = BatonConfig.load(config);
        boolean tls = routerConfig.getBoolean("baton.router.tls.enabled");
        String probe = "http://127.0.0.1:" + port;
        if (tls) {
            int management = ports.tcp(port + 1000, "the router's management port");
            router.addAll(List.of("--management-port", Integer.toString(management)));
            probe = "http://127.0.0.1:" + management;
        }
        for (Path m : models) {
            router.addAll(List.of("--model", m.toAbsolutePath().toString()));
        }
        pids.add(spawn(dir, "router", router));
        List<String> roles = new ArrayList<>();
        List<Path> roleModels = new ArrayList<>(); // the model of each node; null: the default (demo) model
        for (Path m : models.isEmpty() ? java.util.Collections.<Path>singletonList(null) : models) {
            int before = roles.size();
            if (colocated) {
                roles.addAll(java.util.Collections.nCopies(workers, "worker"));
            } else {
                roles.addAll(java.util.Collections.nCopies(prefill, "prefill"));
                roles.addAll(java.util.Collections.nCopies(decode, "decode"));
            }
            roleModels.addAll(java.util.Collections.nCopies(roles.size() - before, m));
        }
        java.util.Map<String, Integer> counts = new java.util.HashMap<>();
        List<String> metricsUrls = new ArrayList<>();
        for (int i = 0; i < roles.size(); i++) {
            String role = roles.get(i);
            Path nodeModel = roleModels.get(i);
            String prefix = several ? modelId(nodeModel) + "-" : "";
            String name = prefix + role + "-" + counts.merge(prefix + role, 1, Integer::sum);
            int nodeCluster = ports.tcp(clusterPort + 1 + i, name + "'s cluster port");
            int metrics = ports.tcp(port + 1 + i, name + "'s metrics port");
            List<String> w = new ArrayList<>(List.of(role, "--cluster-port", Integer.toString(nodeCluster),
                    "--seed", seed, "--node-id", name, "--metrics-port", Integer.toString(metrics)));
            if (!role.equals("worker")) {
                int kv = ports.udpPair(20000 + nodeCluster % 20000, name + "'s KV ports");
                w.addAll(List.of("--kv-port", Integer.toString(kv), "--kv-reply-port", Integer.toString(kv + 1)));
            }
            metricsUrls.add(name + " http://127.0.0.1:" + metrics + "/metrics");
            w.addAll(common);
            if (nodeModel != null) {
                w.addAll(List.of("--model", nodeModel.toAbsolutePath().toString()));
            }
            if (draftModel != null && !role.equals("prefill")) {
                w.addAll(List.of("--draft-model", draftModel.toAbsolutePath().toString()));
            }
            w.addAll(gpuArgs(gpus, i));
            pids.add(spawn(dir, name, w));
        }
        Files.writeString(dir.resolve("pids"), String.join("\n", pids.stream().map(String::valueOf).toList()) + "\n");
        String url = (tls ? "https" : "http") + "://127.0.0.1:" + port;
        System.err.println("baton: starting router and " + (colocated ? workers + " worker(s)"
                : prefill + " prefill and " + decode + " decode node(s)") + (several ? " for each of " + models.size()
                        + " models" : "") + "; logs in " + dir);
        if (!waitReady(probe, Duration.ofSeconds(readyTimeoutSeconds), pids)) {
            System.err.println("baton: the cluster did not become ready in " + readyTimeoutSeconds + " s; stopping it."
                    + " Logs: " + dir);
            DownCommand.stop(current.resolve("pids"));
            return 1;
        }
        System.out.println("Baton is up: " + url + "/v1  (OpenAI-compatible)");
        String certificate = routerConfig.getString("baton.router.tls.certificate");
        System.out.println("  try:   curl " + (tls && !certificate.isBlank() ? "--cacert " + certificate + " " : "")
                + url + "/v1/completions -H 'Content-Type: application/json' "
                + "-d '{" + (several ? "\"model\":\"" + modelId(models.get(0)) + "\"," : "")
                + "\"prompt\":\"Once upon a time\",\"max_tokens\":32}'");
        if (several) {
            System.out.println("  models: " + String.join(", ", models.stream().map(UpCommand::modelId).toList())
                    + " (name one in \"model\")");
        }
        System.out.println("  logs:  " + dir);
        System.out.println("  metrics: router " + url + "/metrics; " + String.join(", ", metricsUrls));
        System.out.println("  stop:  bin/baton down");
        return 0;
    }

    /** The id the router serves a model file under: its file name without {@code .gguf}. */
    static String modelId(Path model) {
        return model.getFileName().toString().replaceFirst("\\.gguf$", "");
    }

    private long spawn(Path dir, String name, List<String> args) throws IOException {
        return NodeLauncher.start(dir.resolve(name + ".log"), heap, args).pid();
    }

    static boolean waitReady(String url, Duration timeout, List<Long> pids) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (long pid : pids) {
                if (ProcessHandle.of(pid).map(ph -> !ph.isAlive()).orElse(true)) {
                    System.err.println("baton: process " + pid + " exited during start-up");
                    return false;
                }
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/ready"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return true;
                }
            } catch (IOException notYet) {
                // the router is not listening yet
            }
            Thread.sleep(500);
        }
        return false;
    }

    /** The backend flags of engine node {@code index}: none on the CPU, else cuda on GPU {@code index mod gpus}. */
    static List<String> gpuArgs(int gpus, int index) {
        return gpus == 0 ? List.of() : List.of("--backend", "cuda", "--device", Integer.toString(index % gpus));
    }

    private static boolean anyAlive(Path pids) throws IOException {
        for (String line : Files.readAllLines(pids)) {
            if (!line.isBlank() && ProcessHandle.of(Long.parseLong(line.trim())).map(ProcessHandle::isAlive).orElse(false)) {
                return true;
            }
        }
        return false;
    }
}
