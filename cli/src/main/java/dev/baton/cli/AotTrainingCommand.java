package dev.baton.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton aot-training} (hidden): the training run of the JVM's AOT cache (JEP 483/514/515), which
 * {@code bin/baton aot-cache} runs with {@code -XX:AOTCacheOutput} at build time. It does in one JVM what a
 * short CLI run and a fresh node do first, so that the cache holds their classes, loaded and linked, and the
 * method profiles of their hot paths: the engine on the embedded demo model (GGUF load, tokenizer, chat
 * template, prefill and decode with the Vector API kernels, on one and on all cores), then a cluster of a
 * router, a prefill node and a decode node on loopback (Pekko, the HTTP API, KV transfer) serving plain,
 * streamed and chat completions. Everything it starts is on loopback ports it picks and in a temporary
 * directory; the cluster part is bounded in time and, if it fails, leaves a cache of the engine part.
 */
@Command(name = "aot-training", hidden = true, mixinStandardHelpOptions = true,
        description = "The workload bin/baton aot-cache records the JVM's AOT cache from (engine and a loopback cluster).")
final class AotTrainingCommand implements Callable<Integer> {

    @Option(names = "--no-cluster", description = "train the engine part only")
    boolean noCluster;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "192",
            description = "tokens each generate run produces (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--cluster-timeout", paramLabel = "SECONDS", defaultValue = "90",
            description = "bound on the cluster part (default: ${DEFAULT-VALUE})")
    int clusterTimeoutSeconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Path dir = Files.createTempDirectory("baton-aot-training");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir), "aot-training-cleanup"));
        Path conf = dir.resolve("training.conf");
        Path home = Path.of(System.getProperty("baton.home", ".")).toAbsolutePath().normalize();
        Path clusterConf = home.resolve("cluster.conf");
        Files.writeString(conf, (Files.isRegularFile(clusterConf) ? "include file(\"" + clusterConf + "\")\n" : "")
                + "baton.engine.kv-cache-bytes = 32MiB\n"
                + "baton.kv-transfer.host-tier.directory = \"" + dir.resolve("host-tier") + "\"\n"
                + "baton.kv-transfer.host-tier.capacity = 64MiB\n");
        long t0 = System.nanoTime();
        generate(conf, "1", false);
        generate(conf, Integer.toString(Runtime.getRuntime().availableProcessors()), true);
        err.printf("aot-training: engine part done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        if (!noCluster) {
            long t1 = System.nanoTime();
            try {
                cluster(conf, dir, err);
                err.printf("aot-training: cluster part done in %.1f s%n", (System.nanoTime() - t1) / 1e9);
            } catch (Exception e) {
                err.println("aot-training: cluster part skipped: " + Baton.describe(e));
            }
        }
        return 0; // Baton.main exits: the nodes' shutdown hooks stop them, then the JVM writes the cache
    }

    /** {@code generate} through the command line as a user runs it, its answer discarded. */
    private void generate(Path conf, String threads, boolean chat) {
        List<String> args = new ArrayList<>(List.of("generate", "--config", conf.toString(), "--threads", threads,
                "--max-tokens", Integer.toString(tokens), "--prompt", "Once upon a time, in a land far away, there lived"));
        if (chat) {
            args.addAll(List.of("--chat", "--system", "You are terse.", "--temperature", "0.8", "--top-p", "0.9",
                    "--seed", "7", "--output", "json"));
        }
        CommandLine cl = Baton.commandLine();
        cl.setOut(new PrintWriter(Writer.nullWriter()));
        int rc = cl.execute(args.toArray(String[]::new));
        if (rc != 0) {
            throw new IllegalStateException("aot-training: generate " + String.join(" ", args) + " exited with " + rc);
        }
    }

    /** A router, a prefill and a decode node in this JVM, each on its own thread, and requests through the router. */
    private void cluster(Path conf, Path dir, PrintWriter err) throws Exception {
        int http = freePort();
        int seedPort = freePort();
        String seed = "127.0.0.1:" + seedPort;
        String suffix = Long.toString(ProcessHandle.current().pid());
        List<List<String>> nodes = List.of(
                List.of("router", "--port", Integer.toString(http), "--cluster-port", Integer.toString(seedPort),
                        "--seed", seed, "--config", conf.toString()),
                List.of("prefill", "--cluster-port", Integer.toString(freePort()), "--seed", seed, "--node-id",
                        "aot-training-prefill-" + suffix, "--kv-port", Integer.toString(freePort()), "--kv-reply-port",
                        Integer.toString(freePort()), "--threads", "1", "--config", conf.toString()),
                List.of("decode", "--cluster-port", Integer.toString(freePort()), "--seed", seed, "--node-id",
                        "aot-training-decode-" + suffix, "--kv-port", Integer.toString(freePort()), "--kv-reply-port",
                        Integer.toString(freePort()), "--threads", "1", "--config", conf.toString()));
        for (List<String> node : nodes) {
            Thread t = new Thread(() -> Baton.commandLine().execute(node.toArray(String[]::new)), "aot-" + node.get(0));
            t.setDaemon(true);
            t.start();
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        String url = "http://127.0.0.1:" + http;
        long deadline = System.nanoTime() + Duration.ofSeconds(clusterTimeoutSeconds).toNanos();
        while (!ready(client, url)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("the training cluster was not ready in " + clusterTimeoutSeconds + " s");
            }
            Thread.sleep(200);
        }
        String[] bodies = {
            "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0}",
            "{\"prompt\":\"The quick brown fox jumps over the lazy dog and\",\"max_tokens\":32,\"stream\":true,"
                    + "\"stream_options\":{\"include_usage\":true}}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}],\"max_tokens\":32,\"temperature\":0.7,"
                    + "\"seed\":3}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"And another one.\"}],\"max_tokens\":24,\"stream\":true}",
        };
        for (int round = 0; round < 3 && System.nanoTime() < deadline; round++) {
            for (String body : bodies) {
                String path = body.startsWith("{\"messages\"") ? "/v1/chat/completions" : "/v1/completions";
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url + path))
                        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IOException("POST " + path + " answered " + r.statusCode() + ": " + r.body());
                }
            }
        }
        for (String path : List.of("/v1/models", "/v1/cluster", "/metrics", "/health")) {
            client.send(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.discarding());
        }
    }

    /** Best effort: the host tier's files may still be mapped by a node that is stopping (Linux allows that). */
    private static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // a temporary directory: the system cleans it eventually
        }
    }

    private static boolean ready(HttpClient client, String url) throws InterruptedException {
        try {
            return client.send(HttpRequest.newBuilder(URI.create(url + "/ready")).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException notYet) {
            return false;
        }
    }

    /** Ports handed out by {@link #freePort}: the nodes bind them later, so a probe alone could repeat one. */
    private final java.util.Set<Integer> handedOut = new java.util.HashSet<>();

    /** A loopback port free for TCP and UDP now, and not handed out before. */
    private int freePort() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = s.getLocalPort();
                try (DatagramSocket u = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
                    if (handedOut.add(port)) {
                        return port;
                    }
                } catch (IOException udpInUse) {
                    // taken for UDP: try another
                }
            }
        }
        throw new IOException("no loopback port free for TCP and UDP after 50 attempts");
    }
}
