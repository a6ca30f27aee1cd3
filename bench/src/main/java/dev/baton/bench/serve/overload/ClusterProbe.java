package dev.baton.bench.serve.overload;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the overload benchmark reads from the cluster itself, besides its answers: the prompt tokens its engine
 * nodes computed (the sum of {@code baton_tokens_total{phase="prefill"}} over the nodes' Prometheus endpoints) and
 * the resident memory ({@code VmRSS} of {@code /proc/PID/status}) of its processes when they run on this host.
 *
 * <p>The processes are found from the pid file {@code bin/baton up} writes ({@code run/current/pids}): each pid's
 * {@code /proc/PID/cmdline} names its role (the word after {@code dev.baton.cli.Baton}), its {@code --node-id}
 * and its {@code --metrics-port}, so the node metrics endpoints come from there too; more can be given.
 *
 * <p>Immutable after construction; its methods may be called from several threads (each read is independent).
 */
public final class ClusterProbe implements AutoCloseable {

    /**
     * One local process of the cluster.
     *
     * @param name the role and node id ({@code router}, {@code prefill-1})
     * @param metrics the node's Prometheus endpoint, or null (the router's, or none given)
     */
    public record LocalProcess(String name, long pid, URI metrics) {}

    private static final Pattern PREFILL_TOKENS = Pattern.compile(
            "(?m)^baton_tokens_total\\{[^}]*phase=\"prefill\"[^}]*}\\s+(\\S+)");

    private final List<LocalProcess> processes;
    private final List<URI> metrics;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * @param processes local processes whose memory is read (may be empty)
     * @param metrics node Prometheus endpoints whose prefill counters are summed (may be empty)
     */
    public ClusterProbe(List<LocalProcess> processes, List<URI> metrics) {
        this.processes = List.copyOf(processes);
        this.metrics = List.copyOf(metrics);
    }

    /** A probe of nothing: memory and prefill counts are then reported as unknown. */
    public static ClusterProbe none() {
        return new ClusterProbe(List.of(), List.of());
    }

    /**
     * The processes listed in a {@code bin/baton up} pid file that are alive, and their metrics endpoints plus
     * {@code extraMetrics}.
     *
     * @throws IOException when the pid file cannot be read
     */
    public static ClusterProbe fromPidFile(Path pidFile, List<URI> extraMetrics) throws IOException {
        List<LocalProcess> found = new ArrayList<>();
        List<URI> endpoints = new ArrayList<>();
        for (String line : Files.readAllLines(pidFile)) {
            String s = line.strip();
            if (s.isEmpty()) {
                continue;
            }
            long pid;
            try {
                pid = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(pidFile + ": \"" + s + "\" is not a process id");
            }
            Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
            if (!Files.isReadable(cmdline)) {
                continue; // not running (any more)
            }
            LocalProcess p = fromCommandLine(pid, List.of(new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).split("\0")));
            if (p != null) {
                found.add(p);
                if (p.metrics() != null) {
                    endpoints.add(p.metrics());
                }
            }
        }
        for (URI u : extraMetrics) {
            if (!endpoints.contains(u)) {
                endpoints.add(u);
            }
        }
        return new ClusterProbe(found, endpoints);
    }

    /**
     * Reads a Baton process from its command line: the word after {@code dev.baton.cli.Baton} is its role,
     * {@code --node-id} its name (the role when absent), {@code --metrics-port} its Prometheus endpoint on
     * loopback. Null when the command line is not a Baton process.
     */
    static LocalProcess fromCommandLine(long pid, List<String> args) {
        int main = args.indexOf("dev.baton.cli.Baton");
        if (main < 0 || main + 1 >= args.size()) {
            return null;
        }
        String role = args.get(main + 1);
        String id = null;
        URI metrics = null;
        for (int i = main + 2; i + 1 < args.size(); i++) {
            switch (args.get(i)) {
                case "--node-id" -> id = args.get(i + 1);
                case "--metrics-port" -> metrics = URI.create("http://127.0.0.1:" + Integer.parseInt(args.get(i + 1)) + "/metrics");
                default -> { }
            }
        }
        return new LocalProcess(id == null ? role : id, pid, metrics);
    }

    /** The local processes found. */
    public List<LocalProcess> processes() {
        return processes;
    }

    /** The node metrics endpoints read. */
    public List<URI> metrics() {
        return metrics;
    }

    /** The resident memory in bytes of each local process still running, by name. */
    public Map<String, Long> rssBytes() {
        Map<String, Long> rss = new LinkedHashMap<>();
        for (LocalProcess p : processes) {
            try {
                long kib = vmRssKib(Files.readString(Path.of("/proc", Long.toString(p.pid()), "status")));
                if (kib >= 0) {
                    rss.put(p.name(), kib * 1024);
                }
            } catch (IOException gone) {
                // the process ended: it has no memory to report
            }
        }
        return rss;
    }

    /** The {@code VmRSS} line of a {@code /proc/PID/status} text in KiB, or -1 when it has none. */
    static long vmRssKib(String status) {
        Matcher m = Pattern.compile("(?m)^VmRSS:\\s+(\\d+)\\s*kB").matcher(status);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * The prompt tokens all nodes computed so far, or empty when no endpoint is known.
     *
     * @throws IOException when an endpoint cannot be read or shows no prefill counter (a changed count would be wrong)
     */
    public OptionalLong prefilledTokens() throws IOException {
        if (metrics.isEmpty()) {
            return OptionalLong.empty();
        }
        long sum = 0;
        for (URI u : metrics) {
            String text;
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(5)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IOException("GET " + u + " answered HTTP " + r.statusCode());
                }
                text = r.body();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while reading " + u, e);
            }
            OptionalLong n = prefilledTokens(text);
            if (n.isEmpty()) {
                throw new IOException(u + " shows no baton_tokens_total{phase=\"prefill\"} counter");
            }
            sum += n.getAsLong();
        }
        return OptionalLong.of(sum);
    }

    /** The sum of every {@code baton_tokens_total{phase="prefill"}} series in a Prometheus text, empty when none. */
    static OptionalLong prefilledTokens(String prometheusText) {
        Matcher m = PREFILL_TOKENS.matcher(prometheusText);
        boolean any = false;
        double sum = 0;
        while (m.find()) {
            any = true;
            sum += Double.parseDouble(m.group(1));
        }
        return any ? OptionalLong.of(Math.round(sum)) : OptionalLong.empty();
    }

    @Override
    public void close() {
        http.close();
    }
}
