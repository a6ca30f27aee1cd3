package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container image's {@code /opt/baton} without a Docker engine: {@code deploy/container/build-runtime.sh}
 * lays it out (a jlinked runtime from the build's JDK 25, the distribution's jars, the entrypoint) as the
 * Dockerfile does, and a router and a worker started through {@code bin/entrypoint.sh} on that runtime (not
 * through bin/baton) form a cluster, answer their health checks and serve a completion. The worker runs the
 * host tier, whose index compiles code at run time: the runtime has the modules the code needs.
 */
@Timeout(300)
class ImageLayoutIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final Path LAYOUT = NodeProcess.root().resolve("it/target/image-layout/opt/baton");
    static final ObjectMapper JSON = new ObjectMapper();

    /** Runs build-runtime.sh into {@link #LAYOUT} (a fresh one each run: the jars are this build's). */
    static void buildLayout() throws Exception {
        deleteTree(LAYOUT);
        Files.createDirectories(LAYOUT.getParent());
        Path log = LAYOUT.getParent().resolve("build-runtime.log");
        Process p = new ProcessBuilder(NodeProcess.root().resolve("deploy/container/build-runtime.sh").toString(),
                LAYOUT.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "build-runtime.sh still running after 240 s");
        assertEquals(0, p.exitValue(), () -> "build-runtime.sh failed:\n" + read(log));
    }

    @Test
    void shouldStartARouterAndAWorkerThroughTheImageEntrypoint(@TempDir Path dir) throws Exception {
        buildLayout();
        Path java = LAYOUT.resolve("runtime/bin/java");
        Path entrypoint = LAYOUT.resolve("bin/entrypoint.sh");
        assertTrue(Files.isExecutable(java) && Files.isExecutable(entrypoint), "layout: " + list(LAYOUT));
        assertTrue(Files.isRegularFile(LAYOUT.resolve("cluster.conf")));
        assertTrue(list(LAYOUT.resolve("lib")).stream().anyMatch(n -> n.startsWith("baton-cli-")), "the distribution's jars");
        String modules = run(List.of(java.toString(), "--list-modules"));
        for (String m : List.of("java.base", "jdk.incubator.vector", "jdk.compiler", "jdk.httpserver", "jdk.management",
                "jdk.unsupported", "java.net.http")) {
            assertTrue(modules.contains(m + "@"), "runtime lacks " + m + ":\n" + modules);
        }
        assertFalse(modules.contains("jdk.jshell@"), "a jlinked runtime, not the whole JDK");
        assertEquals(jvmFlags(NodeProcess.root().resolve("bin/baton")), jvmFlags(entrypoint),
                "entrypoint.sh runs java with bin/baton's JVM flags");

        int httpPort = NodeProcess.freePort();
        int seedPort = NodeProcess.freePort();
        int routerManagement = NodeProcess.freePort();
        int workerManagement = NodeProcess.freePort();
        int workerMetrics = NodeProcess.freePort();
        String seed = "127.0.0.1:" + seedPort;
        List<Process> processes = new ArrayList<>();
        try {
            Process router = start(entrypoint, dir, "router", "router", "--model", MODEL.toString(), "--port",
                    Integer.toString(httpPort), "--cluster-port", Integer.toString(seedPort), "--seed", seed,
                    "--management-port", Integer.toString(routerManagement));
            processes.add(router);
            Process worker = start(entrypoint, dir, "worker", "worker", "--model", MODEL.toString(), "--threads", "1",
                    "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "w1",
                    "--metrics-port", Integer.toString(workerMetrics), "--management-port",
                    Integer.toString(workerManagement));
            processes.add(worker);
            // exec: the entrypoint's process is the jlinked runtime's java
            for (Process p : processes) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!p.info().command().orElse("").endsWith("runtime/bin/java") && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertEquals(java.toRealPath().toString(), Path.of(p.info().command().orElse("?")).toRealPath().toString(),
                        "the entrypoint execs the image's runtime");
            }

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            String logs = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
            for (String url : List.of("http://127.0.0.1:" + httpPort + "/ready", "http://127.0.0.1:" + workerMetrics + "/ready",
                    "http://127.0.0.1:" + routerManagement + "/ready", "http://127.0.0.1:" + workerManagement + "/ready")) {
                while (status(http, url) != 200) {
                    assertTrue(System.nanoTime() < deadline, () -> url + " never answered 200:\n" + logs(dir));
                    assertTrue(router.isAlive() && worker.isAlive(), () -> "a process exited:\n" + logs(dir));
                    Thread.sleep(500);
                }
            }
            assertEquals(200, status(http, "http://127.0.0.1:" + workerManagement + "/alive"));

            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                            + "/v1/completions")).header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"temperature\":0,\"ignore_eos\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body() + "\n" + logs(dir));
            JsonNode body = JSON.readTree(r.body());
            assertEquals(10, body.at("/usage/completion_tokens").asInt(), r.body());

            String workerLog = read(dir.resolve("worker.log"));
            assertTrue(workerLog.contains("w1 up:"), workerLog);
            assertFalse(workerLog.contains("host tier none"), "the host tier (Chronicle Map, jdk.compiler) runs:\n" + workerLog);
        } finally {
            for (Process p : processes) {
                p.destroy();
            }
            for (Process p : processes) {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** {@code entrypoint.sh args...} with a small heap, its log in {@code dir}, a host tier of its own there. */
    static Process start(Path entrypoint, Path dir, String name, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(entrypoint.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("BATON_JVM_OPTS", "-Xmx384m -Dbaton.kv-transfer.host-tier.directory=" + dir.resolve("host-tier")
                + " -Dbaton.kv-transfer.host-tier.capacity=64MiB");
        pb.environment().put("HOME", dir.toString());
        pb.environment().remove("BATON_HOME");
        return pb.start();
    }

    /** The JVM flags a launcher script passes to java (module, access and -D/-XX options), as a set. */
    static Set<String> jvmFlags(Path script) throws IOException {
        String text = Files.readString(script).replace("\\\n", " ");
        Set<String> flags = new TreeSet<>();
        // a flag ends at white space, a quote or the ")" that closes a bash array
        String rest = "[^\\s)\"']+";
        Matcher m = Pattern.compile("(--add-modules " + rest + "|--add-(?:exports|opens)[ =]" + rest + "|--enable-native-access="
                + rest + "|--sun-misc-unsafe-memory-access=" + rest + "|-XX:" + rest + "|-Dchronicle\\." + rest + ")").matcher(text);
        while (m.find()) {
            String flag = m.group(1).replace("--add-exports ", "--add-exports=").replace("--add-opens ", "--add-opens=");
            // bin/baton's AOT cache options (README "Warm-up"): the image carries no cache, its entrypoint none of them
            if (!flag.startsWith("-XX:AOTCache") && !flag.equals("-XX:+VerifySharedSpaces")) {
                flags.add(flag);
            }
        }
        assertTrue(flags.size() > 10, script + ": " + flags);
        return flags;
    }

    static int status(HttpClient http, String url) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    static String logs(Path dir) {
        return "--- router:\n" + read(dir.resolve("router.log")) + "\n--- worker:\n" + read(dir.resolve("worker.log"));
    }

    static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    static List<String> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
