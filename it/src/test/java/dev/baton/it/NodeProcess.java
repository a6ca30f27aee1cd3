package dev.baton.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A Baton node started through the real {@code bin/baton} script; its log is kept for failures. */
final class NodeProcess implements AutoCloseable {

    final Process process;
    final Path log;
    private final String name;

    private NodeProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** The name the test gave the process (its log is {@code name.log}). */
    String name() {
        return name;
    }

    static Path root() {
        return Path.of(System.getProperty("baton.home")).toAbsolutePath().normalize();
    }

    /** Ports handed out in this JVM: a port a node bound for UDP only still looks free to a TCP probe. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A port free for both TCP and UDP now, and never handed out before in this JVM (nodes take them later). */
    static int freePort() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket s = new ServerSocket(0)) {
                int port = s.getLocalPort();
                try (java.net.DatagramSocket u = new java.net.DatagramSocket(port,
                        java.net.InetAddress.getLoopbackAddress())) {
                    if (HANDED_OUT.add(port)) {
                        return port;
                    }
                } catch (java.net.SocketException udpInUse) {
                    // taken for UDP: try another
                }
            }
        }
        throw new IOException("no port free for both TCP and UDP after 100 attempts");
    }

    /**
     * Starts {@code bin/baton args...} with its log in {@code dir}. The node processes of one test share a
     * host tier of their own in {@code dir/host-tier} (system properties, which a {@code --config} file
     * overrides), so that tests neither see each other's blocks nor leave blocks in {@code /dev/shm}; each
     * runs its Aeron media driver in {@code dir/aeron-NAME}.
     */
    static NodeProcess start(Path dir, String name, String... args) throws IOException {
        return start(dir, name, List.of(), args);
    }

    /** Like {@link #start(Path, String, String...)}, with more JVM options (e.g. {@code -Dbaton...} settings). */
    static NodeProcess start(Path dir, String name, List<String> jvmOptions, String... args) throws IOException {
        return start(null, null, dir, name, jvmOptions, args);
    }

    /**
     * Like {@link #start(Path, String, List, String...)}, inside the network namespace of {@code host} (a test
     * host of {@code hosts}): the node sees only that host's address and loopback.
     */
    static NodeProcess startIn(TestHosts hosts, TestHosts.Host host, Path dir, String name, List<String> jvmOptions,
            String... args) throws IOException {
        return start(hosts, host, dir, name, jvmOptions, args);
    }

    private static NodeProcess start(TestHosts hosts, TestHosts.Host host, Path dir, String name, List<String> jvmOptions,
            String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(root().resolve("bin/baton").toString()));
        cmd.addAll(List.of(args));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = (hosts == null ? new ProcessBuilder(cmd) : hosts.builder(host, cmd))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        // the Aeron media driver's directory in the test's own directory: a node killed by a test (or not yet gone
        // when the next test starts one of the same id) leaves no live-looking driver behind for others
        pb.environment().put("BATON_JVM_OPTS", "-Xmx384m -Dbaton.kv-transfer.host-tier.directory=" + dir.resolve("host-tier")
                + " -Dbaton.kv-transfer.host-tier.capacity=64MiB -Dbaton.kv-transfer.aeron.aeron-dir=" + dir.resolve("aeron-" + name)
                + " " + String.join(" ", jvmOptions));
        return new NodeProcess(name, pb.start(), log);
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** SIGSTOP (true) or SIGCONT (false): the node freezes as a hung machine would, and wakes. */
    void freeze(boolean stop) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", stop ? "-STOP" : "-CONT", Long.toString(process.pid()))
                .redirectErrorStream(true).start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
            throw new IOException("kill " + (stop ? "-STOP " : "-CONT ") + process.pid() + " failed: "
                    + new String(k.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** SIGKILL: the node vanishes without leaving the cluster. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
