package dev.baton.it;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;

/**
 * N test "hosts" on one machine: each host is a Linux network namespace with its own address, so that
 * processes in different hosts reach each other only over a (virtual) network, as on separate machines.
 *
 * <pre>
 *   root namespace (the test JVM: the client outside)
 *     bridge bt&lt;pid&gt;b&lt;n&gt;  10.213.X.1/24
 *       ├── veth bt&lt;pid&gt;v&lt;k&gt; ══ eth0 in namespace baton-&lt;pid&gt;-&lt;k&gt;    10.213.X.2/24  (host 0)
 *       ├── veth ...               ══ eth0 in namespace baton-&lt;pid&gt;-&lt;k+1&gt;  10.213.X.3/24  (host 1)
 *       └── ...
 * </pre>
 *
 * <p>Every namespace has loopback up, its address on {@code eth0} and a default route through the bridge's
 * address ({@link #gateway()}); all hosts and the root namespace share one /24 on the bridge, so each reaches
 * every other directly. The /24 ({@code 10.213.X.0/24}) is chosen per instance among those no interface on the
 * machine uses (under a lock file shared by every JVM on the machine), so tests running side by side, in one
 * JVM or several, get separate networks. Names carry this JVM's pid and a counter, so they are unique per run;
 * namespaces and bridges left by a JVM that has died are removed when the next instance is created.
 *
 * <p>{@link #close()} kills every process in the namespaces and deletes the namespaces, the veths and the
 * bridge; it runs again at JVM exit (a shutdown hook) if a test never called it. Needs root and {@code ip}
 * (iproute2): call {@link #assumeAvailable()} first, which skips the test when they are missing.
 *
 * <p>Traffic stays inside the machine: only the bridge's private /24 is routed to the namespaces, and nothing
 * forwards it elsewhere. Not thread-safe: one test owns an instance.
 *
 * <pre>{@code
 * TestHosts.assumeAvailable();
 * try (TestHosts hosts = TestHosts.create(2)) {
 *     Process server = hosts.exec(hosts.host(0), "java", "...", "--host", hosts.host(0).address());
 *     // the test JVM reaches http://<host(0).address()>:PORT/ ; host 1 reaches it too
 * }
 * }</pre>
 */
public final class TestHosts implements AutoCloseable {

    /** One host: its network namespace's name and its IPv4 address (reachable from the root and every host). */
    public record Host(int index, String namespace, String address) {
    }

    private static final String NAMESPACE_PREFIX = "baton-";
    private static final String LINK_PREFIX = "bt";
    private static final String SUBNET_PREFIX = "10.213.";
    private static final int MAX_HOSTS = 200;
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    /** How long {@link #close()} waits after SIGTERM before SIGKILL: a Baton node drains first (at least 2 s). */
    private static final Duration TERM_GRACE = Duration.ofSeconds(15);
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final AtomicInteger HOSTS = new AtomicInteger();
    private static final Path LOCK_FILE = Path.of(System.getProperty("java.io.tmpdir"), "baton-test-hosts.lock");
    private static final long PID = ProcessHandle.current().pid();

    private final String bridge;
    private final String gateway;
    private final List<Host> hosts = new ArrayList<>();
    private final List<String> vethsInRoot = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private TestHosts(String bridge, String gateway) {
        this.bridge = bridge;
        this.gateway = gateway;
        this.shutdownHook = new Thread(this::removeAll, "test-hosts-cleanup-" + bridge);
    }

    /**
     * Skips the calling test (JUnit assumption) unless network namespaces can be made here: the JVM runs as
     * root and {@code ip netns add} works. The message says which of the two failed.
     */
    public static void assumeAvailable() {
        String user = System.getProperty("user.name");
        long uid = uid();
        Assumptions.assumeTrue(uid == 0,
                "network namespaces need root (this JVM runs as " + user + ", uid " + uid + "): test skipped");
        String probe = NAMESPACE_PREFIX + PID + "-probe";
        Result add = runQuietly(List.of("ip", "netns", "add", probe));
        runQuietly(List.of("ip", "netns", "del", probe));
        Assumptions.assumeTrue(add.exitCode() == 0,
                "'ip netns add' failed (exit " + add.exitCode() + "): " + add.output().strip() + ": test skipped");
    }

    /**
     * Creates {@code count} hosts (1 to 200) on a fresh bridge. On failure, whatever was made is removed again.
     *
     * @throws IOException if an {@code ip} command fails (its output is in the message) or no 10.213.X.0/24 is free
     */
    public static TestHosts create(int count) throws IOException {
        if (count < 1 || count > MAX_HOSTS) {
            throw new IllegalArgumentException("count must be 1 to " + MAX_HOSTS + ", was " + count);
        }
        removeLeftoversOfDeadJvms();
        String bridge = LINK_PREFIX + PID + "b" + INSTANCES.getAndIncrement();
        TestHosts hosts;
        // The lock spans choosing the /24 and putting its first address on the bridge, so that two JVMs never
        // choose the same one; the lock within this JVM (synchronized) guards against an overlapping FileLock.
        synchronized (TestHosts.class) {
            try (FileChannel channel = FileChannel.open(LOCK_FILE, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                String subnet = SUBNET_PREFIX + freeThirdOctet() + ".";
                hosts = new TestHosts(bridge, subnet + "1");
                Runtime.getRuntime().addShutdownHook(hosts.shutdownHook);
                try {
                    ip("link", "add", bridge, "type", "bridge");
                    ip("addr", "add", hosts.gateway + "/24", "dev", bridge);
                } catch (IOException | RuntimeException e) {
                    hosts.close();
                    throw e;
                }
            }
        }
        try {
            ip("link", "set", bridge, "up");
            String subnet = hosts.gateway.substring(0, hosts.gateway.lastIndexOf('.') + 1);
            for (int i = 0; i < count; i++) {
                hosts.addHost(i, subnet + (i + 2));
            }
        } catch (IOException | RuntimeException e) {
            hosts.close();
            throw e;
        }
        return hosts;
    }

    private void addHost(int index, String address) throws IOException {
        int k = HOSTS.getAndIncrement();
        String namespace = NAMESPACE_PREFIX + PID + "-" + k;
        String veth = LINK_PREFIX + PID + "v" + k;
        String peer = LINK_PREFIX + PID + "p" + k;
        ip("netns", "add", namespace);
        hosts.add(new Host(index, namespace, address));
        ip("link", "add", veth, "type", "veth", "peer", "name", peer);
        vethsInRoot.add(veth);
        ip("link", "set", peer, "netns", namespace);
        ip("link", "set", veth, "master", bridge);
        ip("link", "set", veth, "up");
        ip("-n", namespace, "link", "set", peer, "name", "eth0");
        ip("-n", namespace, "addr", "add", address + "/24", "dev", "eth0");
        ip("-n", namespace, "link", "set", "eth0", "up");
        ip("-n", namespace, "link", "set", "lo", "up");
        ip("-n", namespace, "route", "add", "default", "via", gateway);
    }

    /** The hosts, in order (host {@code i} has address {@code 10.213.X.(i+2)}). */
    public List<Host> hosts() {
        return List.copyOf(hosts);
    }

    /** Host {@code i} (0-based). */
    public Host host(int i) {
        return hosts.get(i);
    }

    /** The root namespace's address on the bridge: where processes in the hosts reach the test JVM. */
    public String gateway() {
        return gateway;
    }

    /**
     * A process builder for {@code command} inside {@code host}'s namespace ({@code ip netns exec NAME ...});
     * set its redirects and environment, then start it. It inherits this JVM's environment and directory.
     */
    public ProcessBuilder builder(Host host, String... command) {
        return builder(host, List.of(command));
    }

    /** As {@link #builder(Host, String...)}, with the command as a list. */
    public ProcessBuilder builder(Host host, List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.namespace()));
        full.addAll(command);
        return new ProcessBuilder(full);
    }

    /**
     * Starts {@code command} inside {@code host}'s namespace with stdout and stderr merged into
     * {@link Process#getInputStream()} (read it, or the process may block once the pipe is full). The process
     * is killed by {@link #close()} at the latest.
     */
    public Process exec(Host host, String... command) throws IOException {
        return builder(host, command).redirectErrorStream(true).start();
    }

    /**
     * Runs {@code command} inside {@code host}'s namespace to completion and returns its output (stdout and
     * stderr).
     *
     * @throws IOException if it exits non-zero or runs longer than {@code timeout} (output in the message)
     */
    public String run(Host host, Duration timeout, String... command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.namespace()));
        full.addAll(List.of(command));
        Result result = runCommand(full, timeout);
        if (result.exitCode() != 0) {
            throw new IOException(String.join(" ", full) + " exited " + result.exitCode() + ": " + result.output());
        }
        return result.output();
    }

    /** The pids of the processes running in {@code host}'s namespace now ({@code ip netns pids}). */
    public List<Long> pids(Host host) throws IOException {
        return pids(host.namespace());
    }

    /**
     * Kills every process in the namespaces (SIGTERM, then SIGKILL after 15 s), deletes the namespaces (which
     * deletes their ends of the veths), the veths and the bridge. Idempotent; errors are printed, not thrown,
     * so that a cleanup after a failed test does not hide the failure.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        removeAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs (or ran) removeAll itself
        }
    }

    private synchronized void removeAll() {
        if (closed) {
            return;
        }
        closed = true;
        List<ProcessHandle> running = new ArrayList<>();
        for (Host host : hosts) {
            try {
                for (long pid : pids(host.namespace())) {
                    ProcessHandle.of(pid).ifPresent(running::add);
                }
            } catch (IOException e) {
                System.err.println("TestHosts: listing processes in " + host.namespace() + ": " + e.getMessage());
            }
        }
        killAll(running);
        for (Host host : hosts) {
            report(runQuietly(List.of("ip", "netns", "del", host.namespace())), "deleting " + host.namespace());
        }
        for (String veth : vethsInRoot) {
            if (linkExists(veth)) {
                report(runQuietly(List.of("ip", "link", "del", veth)), "deleting " + veth);
            }
        }
        if (linkExists(bridge)) {
            report(runQuietly(List.of("ip", "link", "del", bridge)), "deleting " + bridge);
        }
    }

    private static void killAll(List<ProcessHandle> processes) {
        processes.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TERM_GRACE.toNanos();
        for (ProcessHandle p : processes) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    p.onExit().get(left, TimeUnit.NANOSECONDS);
                } catch (Exception stillRunning) {
                    // SIGKILL below
                }
            }
        }
        for (ProcessHandle p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** Removes namespaces and bridges that carry the pid of a JVM no longer running (a test killed mid-way). */
    private static void removeLeftoversOfDeadJvms() {
        Result namespaces = runQuietly(List.of("ip", "netns", "list"));
        Pattern ns = Pattern.compile("^" + NAMESPACE_PREFIX + "(\\d+)-(\\S+)", Pattern.MULTILINE);
        Matcher m = ns.matcher(namespaces.output());
        while (m.find()) {
            if (isDeadPid(m.group(1))) {
                String name = NAMESPACE_PREFIX + m.group(1) + "-" + m.group(2);
                try {
                    for (long pid : pids(name)) {
                        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                    }
                } catch (IOException e) {
                    // delete it anyway
                }
                runQuietly(List.of("ip", "netns", "del", name));
            }
        }
        Result links = runQuietly(List.of("ip", "-o", "link", "show", "type", "bridge"));
        Matcher b = Pattern.compile(": (" + LINK_PREFIX + "(\\d+)b\\d+)[:@]").matcher(links.output());
        while (b.find()) {
            if (isDeadPid(b.group(2))) {
                runQuietly(List.of("ip", "link", "del", b.group(1)));
            }
        }
    }

    private static boolean isDeadPid(String pid) {
        try {
            long p = Long.parseLong(pid);
            return p != PID && ProcessHandle.of(p).isEmpty();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** A third octet X such that no interface has an address in 10.213.X.0/24. */
    private static int freeThirdOctet() throws IOException {
        Result addrs = runCommand(List.of("ip", "-o", "-4", "addr"), COMMAND_TIMEOUT);
        Set<Integer> used = new HashSet<>();
        Matcher m = Pattern.compile("inet " + Pattern.quote(SUBNET_PREFIX) + "(\\d+)\\.").matcher(addrs.output());
        while (m.find()) {
            used.add(Integer.parseInt(m.group(1)));
        }
        Result routes = runCommand(List.of("ip", "-4", "route"), COMMAND_TIMEOUT);
        Matcher r = Pattern.compile(Pattern.quote(SUBNET_PREFIX) + "(\\d+)\\.").matcher(routes.output());
        while (r.find()) {
            used.add(Integer.parseInt(r.group(1)));
        }
        // Start at a place that depends on the pid, so that JVMs rarely even compete for the same /24.
        int start = (int) (PID % 250);
        for (int i = 0; i < 250; i++) {
            int x = 1 + (start + i) % 250;
            if (!used.contains(x)) {
                return x;
            }
        }
        throw new IOException("every 10.213.X.0/24 (X = 1..250) is in use on this machine");
    }

    private static List<Long> pids(String namespace) throws IOException {
        Result result = runCommand(List.of("ip", "netns", "pids", namespace), COMMAND_TIMEOUT);
        if (result.exitCode() != 0) {
            throw new IOException("ip netns pids " + namespace + " exited " + result.exitCode() + ": "
                    + result.output());
        }
        List<Long> pids = new ArrayList<>();
        for (String line : result.output().split("\\s+")) {
            if (!line.isBlank()) {
                pids.add(Long.parseLong(line.strip()));
            }
        }
        return pids;
    }

    private static boolean linkExists(String name) {
        return runQuietly(List.of("ip", "link", "show", name)).exitCode() == 0;
    }

    private static void ip(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Result result = runCommand(command, COMMAND_TIMEOUT);
        if (result.exitCode() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + result.exitCode() + ": "
                    + result.output().strip());
        }
    }

    private static void report(Result result, String what) {
        if (result.exitCode() != 0) {
            System.err.println("TestHosts: " + what + ": exit " + result.exitCode() + ": " + result.output().strip());
        }
    }

    private static long uid() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return ((Number) uid).longValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    private record Result(int exitCode, String output) {
    }

    private static Result runQuietly(List<String> command) {
        try {
            return runCommand(command, COMMAND_TIMEOUT);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        }
    }

    private static Result runCommand(List<String> command, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        // The output is read beside the wait, so that a command printing more than a pipe holds cannot block.
        CompletableFuture<byte[]> output = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (IOException e) {
                return ("(output unreadable: " + e.getMessage() + ")").getBytes(StandardCharsets.UTF_8);
            }
        }, Thread::startVirtualThread);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in " + timeout);
            }
            byte[] out = output.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + String.join(" ", command), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("reading the output of " + String.join(" ", command) + ": " + e, e);
        }
    }
}
