package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/baton deploy} over real ssh to five hosts: network namespaces ({@link TestHosts}), each running its own
 * OpenSSH sshd on its own address (root login with a key this test generates; host keys pinned in a known_hosts
 * file). The router host, two prefill hosts and two decode hosts serve a greedy completion token for token as the
 * engine alone does; status names every node ready; a rolling restart replaces every process and the cluster
 * serves the same text again; down leaves no Baton process in any namespace. Also: the clear errors for a refused
 * key, an unreachable host, and a node that exits during start-up (its log tail).
 */
@Timeout(900)
class SshDeployIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final Path SSHD = Path.of("/usr/sbin/sshd");

    @TempDir
    static Path dir;

    static TestHosts hosts;
    static Path key;
    static Path knownHosts;
    static final List<Process> sshds = new ArrayList<>();

    @BeforeAll
    static void hostsWithSshd() throws Exception {
        TestHosts.assumeAvailable();
        installSshdIfMissing();
        Assumptions.assumeTrue(Files.isExecutable(SSHD), SSHD + " is missing and could not be installed "
                + "(apt-get install openssh-server, as root): test skipped");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/ssh")) && Files.isExecutable(Path.of("/usr/bin/ssh-keygen")),
                "the OpenSSH client (ssh, ssh-keygen) is missing: test skipped");
        Path ssh = Files.createDirectories(dir.resolve("ssh"));
        key = ssh.resolve("id_ed25519");
        run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "baton-it", "-f", key.toString());
        run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "baton-it-host", "-f",
                ssh.resolve("host_key").toString());
        Files.copy(ssh.resolve("id_ed25519.pub"), ssh.resolve("authorized_keys"));
        // sshd needs its privilege separation directory (the Debian service makes it when it starts)
        Files.createDirectories(Path.of("/run/sshd"));

        hosts = TestHosts.create(5);
        String hostKey = Files.readString(ssh.resolve("host_key.pub")).strip();
        StringBuilder known = new StringBuilder();
        for (TestHosts.Host h : hosts.hosts()) {
            Path config = ssh.resolve("sshd-" + h.index() + ".conf");
            Files.writeString(config, String.join("\n",
                    "ListenAddress " + h.address() + ":22",
                    "HostKey " + ssh.resolve("host_key"),
                    "PidFile " + ssh.resolve("sshd-" + h.index() + ".pid"),
                    "AuthorizedKeysFile " + ssh.resolve("authorized_keys"),
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "LogLevel INFO", ""));
            sshds.add(hosts.builder(h, SSHD.toString(), "-D", "-e", "-f", config.toString()).redirectErrorStream(true)
                    .redirectOutput(ssh.resolve("sshd-" + h.index() + ".log").toFile()).start());
            known.append(h.address()).append(' ').append(hostKey).append('\n');
        }
        knownHosts = ssh.resolve("known_hosts");
        Files.writeString(knownHosts, known);
        for (TestHosts.Host h : hosts.hosts()) {
            awaitPort(h.address(), 22, Duration.ofSeconds(20), ssh.resolve("sshd-" + h.index() + ".log"));
        }
    }

    @AfterAll
    static void removeHosts() {
        if (hosts != null) {
            hosts.close(); // kills the sshds and anything a failed test left running
        }
    }

    /** apt-get install openssh-server when sshd is missing and this JVM may install packages (root, apt-get). */
    private static void installSshdIfMissing() {
        if (Files.isExecutable(SSHD) || !Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
            return;
        }
        for (List<String> attempt : List.of(List.of("apt-get", "install", "-y", "-qq", "openssh-server"),
                List.of("sh", "-c", "apt-get update -qq && apt-get install -y -qq openssh-server"))) {
            try {
                ProcessBuilder pb = new ProcessBuilder(attempt).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
                pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
                Process p = pb.start();
                if (!p.waitFor(300, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (IOException e) {
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (Files.isExecutable(SSHD)) {
                return;
            }
        }
    }

    // ---- the deployment

    @Test
    void shouldDeployServeRestartAndStopAClusterOnFiveHostsOverSsh() throws Exception {
        Path inventory = inventory("it-" + ProcessHandle.current().pid() + "-", key, "", hosts.hosts());
        Path run = dir.resolve("run");
        List<String> ids = List.of("router", "prefill-1", "prefill-2", "decode-1", "decode-2").stream()
                .map(id -> "it-" + ProcessHandle.current().pid() + "-" + id).toList();
        try {
            Deploy up = deploy("up", inventory);
            assertEquals(0, up.exitCode(), up.output());
            assertTrue(up.output().contains("5 node(s) ready"), up.output());
            assertTrue(up.output().contains("cluster: model tiny-f32, ready, router " + ids.get(0) + " and 4 member(s)"),
                    up.output());
            // each node runs inside its own host's namespace
            Map<String, Long> pids = pids(run, ids);
            for (int i = 0; i < ids.size(); i++) {
                assertTrue(hosts.pids(hosts.host(i)).contains(pids.get(ids.get(i))),
                        ids.get(i) + " (pid " + pids.get(ids.get(i)) + ") runs in " + hosts.host(i).namespace());
            }

            String prompt = "Once upon a time there was a little";
            String expected;
            try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(8L << 20))) {
                expected = new Generator(e).generate(e.tokenizer().encode(prompt, true, false),
                        SamplingParams.builder().temperature(0).maxTokens(24).build(), t -> { }).text();
            }
            assertEquals(expected, complete(prompt), "the cluster on five hosts gives the engine's own tokens");

            Deploy status = deploy("status", inventory);
            assertEquals(0, status.exitCode(), status.output());
            for (int i = 0; i < ids.size(); i++) {
                assertTrue(Pattern.compile("(?m)^" + Pattern.quote(ids.get(i)) + "\\s+\\w+\\s+"
                        + Pattern.quote(hosts.host(i).address()) + "\\s+" + pids.get(ids.get(i)) + "\\s+ready$")
                        .matcher(status.output()).find(), ids.get(i) + " ready in:\n" + status.output());
            }

            Deploy restart = deploy("restart", inventory);
            assertEquals(0, restart.exitCode(), restart.output());
            Map<String, Long> restarted = pids(run, ids);
            for (String id : ids) {
                assertNotEquals(pids.get(id), restarted.get(id), id + " was restarted:\n" + restart.output());
            }
            List<Integer> order = ids.stream().map(id -> restart.output().indexOf("restarting " + id + " ")).toList();
            assertEquals(List.of(order.get(1), order.get(2), order.get(3), order.get(4), order.get(0)),
                    order.stream().sorted().toList(), "one at a time, the router last:\n" + restart.output());
            assertFalse(order.contains(-1), restart.output());
            assertEquals(expected, complete(prompt), "the same tokens after the rolling restart");
        } catch (Throwable t) {
            keepLogs(run);
            throw t;
        } finally {
            Deploy down = deploy("down", inventory);
            assertEquals(0, down.exitCode(), down.output());
            for (String id : ids) {
                assertTrue(Pattern.compile("(?m)^deploy: " + Pattern.quote(id) + " on [0-9.]+: (stopped|killed)$")
                        .matcher(down.output()).find(), id + " stopped:\n" + down.output());
            }
        }
        for (TestHosts.Host h : hosts.hosts()) {
            for (long pid : hosts.pids(h)) {
                String cmdline = cmdline(pid);
                assertFalse(cmdline.contains("dev.baton.cli.Baton") || cmdline.contains("bin/baton"),
                        "still running in " + h.namespace() + ": " + pid + " " + cmdline);
            }
        }
        try (var files = Files.list(run)) {
            assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".pid")).toList(), "pid files removed");
        }
        Deploy after = deploy("status", inventory);
        assertEquals(1, after.exitCode(), "status after down: not ready\n" + after.output());
        assertTrue(after.output().contains("stopped"), after.output());
    }

    // ---- clear errors

    @Test
    void shouldNameARefusedKey() throws Exception {
        Path other = dir.resolve("ssh/not-authorized");
        if (!Files.exists(other)) {
            run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other.toString());
        }
        Deploy up = deploy("up", inventory("refused-", other, "", hosts.hosts()));
        assertEquals(1, up.exitCode(), up.output());
        assertTrue(up.output().contains("ssh authentication failed for root@" + hosts.host(0).address()), up.output());
        assertTrue(up.output().contains("ssh.identity-file"), up.output());
    }

    @Test
    void shouldNameAnUnreachableHost() throws Exception {
        // an address on the test's own bridge that no namespace holds
        String gateway = hosts.gateway();
        String nobody = gateway.substring(0, gateway.lastIndexOf('.') + 1) + "250";
        List<TestHosts.Host> list = new ArrayList<>(hosts.hosts());
        list.set(3, new TestHosts.Host(3, "none", nobody));
        Deploy up = deploy("up", inventory("unreachable-", key, "", list));
        assertEquals(1, up.exitCode(), up.output());
        assertTrue(up.output().contains("cannot reach root@" + nobody + " port 22 over ssh"), up.output());
    }

    @Test
    void shouldShowTheLogOfANodeThatExitsDuringStartUp() throws Exception {
        Path inventory = inventory("exits-", key, " -XX:+NoSuchBatonOption", hosts.hosts());
        Deploy up = deploy("up", inventory);
        assertEquals(1, up.exitCode(), up.output());
        assertTrue(up.output().contains("exits-router on " + hosts.host(0).address() + " exited during start-up"),
                up.output());
        assertTrue(up.output().contains("NoSuchBatonOption"), "the tail of its log:\n" + up.output());
    }

    @Test
    void shouldNameABadInventoryKey() throws Exception {
        Path bad = dir.resolve("bad.conf");
        Files.writeString(bad, Files.readString(inventory("bad-", key, "", hosts.hosts())) + "\nthreds = 2\n");
        Deploy up = deploy("up", bad);
        assertEquals(1, up.exitCode(), up.output());
        assertTrue(up.output().contains("baton deploy up: inventory " + bad + ": unknown key 'threds'"), up.output());
    }

    // ---- helpers

    /** An inventory of {@code list}: host 0 the router, 1 and 2 prefill, 3 and 4 decode. */
    private static Path inventory(String prefix, Path identity, String moreJavaOptions, List<TestHosts.Host> list)
            throws IOException {
        String[] roles = {"router", "prefill", "prefill", "decode", "decode"};
        StringBuilder hostLines = new StringBuilder();
        for (int i = 0; i < list.size(); i++) {
            hostLines.append("  { address = \"").append(list.get(i).address()).append("\", roles { ").append(roles[i])
                    .append(" = 1 } }\n");
        }
        String text = """
                ssh {
                  user = root
                  identity-file = "%s"
                  options = ["UserKnownHostsFile=%s", "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes",
                             "ConnectTimeout=5"]
                }
                baton-home = "%s"
                run-dir = "%s"
                model = "%s"
                threads = 1
                heap = "384m"
                java-options = "-Dbaton.kv-transfer.host-tier.directory=%s -Dbaton.kv-transfer.host-tier.capacity=64MiB%s"
                node-id-prefix = "%s"
                ready-timeout = 150s
                stop-grace = 20s
                hosts = [
                %s]
                """.formatted(identity, knownHosts, NodeProcess.root(), dir.resolve("run"), MODEL,
                dir.resolve("host-tier"), moreJavaOptions, prefix, hostLines);
        Path f = dir.resolve(prefix + "inventory.conf");
        Files.writeString(f, text);
        return f;
    }

    record Deploy(int exitCode, String output) {
    }

    /** {@code bin/baton deploy ACTION --inventory FILE} from the root namespace (the machine outside the hosts). */
    private static Deploy deploy(String action, Path inventory) throws Exception {
        Path log = dir.resolve("deploy-" + action + "-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(NodeProcess.root().resolve("bin/baton").toString(), "deploy", action,
                "--inventory", inventory.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("BATON_SKIP_BUILD", "1");
        pb.environment().put("BATON_JVM_OPTS", "-Xmx256m");
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(420, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("deploy " + action + " did not finish in 420 s:\n" + Files.readString(log));
        }
        Deploy d = new Deploy(p.exitValue(), Files.readString(log));
        System.out.printf("SshDeployIT: deploy %s --inventory %s: exit %d after %.1f s%n%s%n", action,
                inventory.getFileName(), d.exitCode(), (System.nanoTime() - t0) / 1e9, d.output());
        return d;
    }

    /** A greedy completion through the router, from the root namespace to the router host's address. */
    private static String complete(String prompt) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        JsonNode r = HttpClusterIT.post(http, "http://" + hosts.host(0).address() + ":8000/v1/completions",
                "{\"prompt\":\"" + prompt + "\",\"max_tokens\":24,\"temperature\":0}");
        return r.at("/choices/0/text").asText();
    }

    /** Copies the nodes' logs to target/SshDeployIT-logs (the temporary directory goes when the test ends). */
    private static void keepLogs(Path run) {
        Path keep = Path.of("target", "SshDeployIT-logs").toAbsolutePath();
        try (var logs = Files.list(run)) {
            Files.createDirectories(keep);
            for (Path log : logs.filter(f -> f.toString().endsWith(".log")).toList()) {
                Files.copy(log, keep.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            System.out.println("SshDeployIT: node logs kept in " + keep);
        } catch (IOException e) {
            System.out.println("SshDeployIT: could not keep the node logs: " + e);
        }
    }

    private static Map<String, Long> pids(Path run, List<String> ids) throws IOException {
        Map<String, Long> pids = new HashMap<>();
        for (String id : ids) {
            pids.put(id, Long.parseLong(Files.readString(run.resolve(id + ".pid")).strip()));
        }
        return pids;
    }

    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
                    .replace('\0', ' ');
        } catch (IOException gone) {
            return "";
        }
    }

    private static void run(Duration timeout, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS), String.join(" ", command) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
    }

    private static void awaitPort(String address, int port, Duration timeout, Path log) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), 1000);
                return;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("sshd on " + address + ":" + port + " did not listen in " + timeout + ": "
                            + Files.readString(log));
                }
                Thread.sleep(100);
            }
        }
    }
}
