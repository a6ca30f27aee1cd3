package dev.baton.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host-side scripts, run here with {@code sh -s} as ssh runs them on a host. The Baton home holds a
 * {@code bin/baton} that only waits for a signal, so that these tests check the scripts' process handling (detached
 * start, pid files, stop with a grace period, a reused pid) in a second; SshDeployIT runs them with real nodes.
 */
@Timeout(60)
class NodeScriptsTest {

    @TempDir
    Path dir;

    private Inventory inventory;
    private DeployNode node;

    @BeforeEach
    void home() throws Exception {
        inventory = inventory("");
        node = inventory.nodes().get(1);
    }

    private Inventory inventory(String more) throws Exception {
        Path home = dir.resolve("home");
        Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("cli/target/dist/lib"));
        Path baton = home.resolve("bin/baton");
        Files.writeString(baton, """
                #!/bin/sh
                # waits until SIGTERM (ignores it with IGNORE_TERM=1); records its environment
                env > "$(dirname "$0")/../env-$$"
                if [ "${IGNORE_TERM:-}" = 1 ]; then trap '' TERM; else trap 'exit 0' TERM; fi
                while :; do sleep 0.1; done
                """);
        Files.setPosixFilePermissions(baton, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(dir.resolve("model.gguf"), "");
        Path f = dir.resolve("inventory.conf");
        Files.writeString(f, "baton-home = \"" + home + "\"\nmodel = \"" + dir.resolve("model.gguf") + "\"\n"
                + "stop-grace = 1s\nheap = 96m\njava-options = \"-Dx=y z\"\n" + more
                + "hosts = [ { address = 127.0.0.1, roles { router = 1, worker = 1 } } ]\n");
        return Inventory.load(f);
    }

    @AfterEach
    void killLeftovers() throws Exception {
        for (String line : run(NodeScripts.states(inventory, inventory.nodes())).stdout().lines().toList()) {
            String pid = line.split(" ")[1];
            if (!pid.equals("-")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    private static Ssh.Result run(String script) throws Exception {
        Process p = new ProcessBuilder("sh", "-s").start();
        p.getOutputStream().write(script.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Ssh.Result(p.exitValue(), out, err);
    }

    private long start() throws Exception {
        Ssh.Result r = run(NodeScripts.start(inventory, node, List.of()));
        assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
        return Long.parseLong(r.stdout().strip());
    }

    @Test
    void shouldStartANodeDetachedWithItsPidFileAndEnvironment() throws Exception {
        long pid = start();
        ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
        assertTrue(p.isAlive());
        String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
        assertTrue(cmdline.contains("bin/baton worker --host 127.0.0.1"), cmdline);
        assertTrue(cmdline.contains("--node-id worker-1 "), cmdline);
        assertEquals(Long.toString(pid), Files.readString(Path.of(inventory.effectiveRunDir(), "worker-1.pid")).strip());
        assertTrue(Files.readString(Path.of(inventory.effectiveRunDir(), "worker-1.log")).contains("starting worker-1"));
        String env = Files.readString(dir.resolve("home/env-" + pid));
        assertTrue(env.contains("BATON_SKIP_BUILD=1"), env);
        assertTrue(env.contains("BATON_JVM_OPTS=-Xmx96m -Dx=y z"), env);
        // its own session: a hang-up of the ssh session that started it does not reach it
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        assertEquals(Long.toString(pid), fields[3], "session id = pid: " + stat);
        assertEquals("worker-1 " + pid + "\nrouter -\n", run(NodeScripts.states(inventory, List.of(node,
                inventory.nodes().get(0)))).stdout());
    }

    @Test
    void shouldRefuseToStartANodeThatRuns() throws Exception {
        long pid = start();
        Ssh.Result again = run(NodeScripts.start(inventory, node, List.of()));
        assertEquals(NodeScripts.ALREADY_RUNNING, again.exitCode());
        assertEquals(Long.toString(pid), again.stdout().strip());
    }

    @Test
    void shouldStopWithSigtermAndRemoveThePidFile() throws Exception {
        long pid = start();
        Ssh.Result r = run(NodeScripts.stop(inventory, List.of(node, inventory.nodes().get(0))));
        assertEquals("router not-running\nworker-1 stopped\n", r.stdout(), r.stderr());
        assertFalse(Files.exists(Path.of("/proc/" + pid + "/cmdline")) && !Files.readString(Path.of("/proc/" + pid
                + "/cmdline")).isEmpty(), "the process has exited");
        assertFalse(Files.exists(Path.of(inventory.effectiveRunDir(), "worker-1.pid")));
        assertEquals("worker-1 -\n", run(NodeScripts.states(inventory, List.of(node))).stdout());
    }

    @Test
    void shouldKillANodeThatOutlivesTheGrace() throws Exception {
        inventory = inventory("environment { IGNORE_TERM = 1 }\n");
        node = inventory.nodes().get(1);
        long pid = start();
        long t0 = System.nanoTime();
        Ssh.Result r = run(NodeScripts.stop(inventory, List.of(node)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals("worker-1 killed\n", r.stdout(), r.stderr());
        assertTrue(ms >= 900, "waited the 1 s grace first, took " + ms + " ms");
        assertEquals("worker-1 -\n", run(NodeScripts.states(inventory, List.of(node))).stdout(), "pid " + pid + " is gone");
    }

    @Test
    void shouldNotTakeAReusedPidForTheNode() throws Exception {
        Process other = new ProcessBuilder("sleep", "30").start();
        try {
            Files.createDirectories(Path.of(inventory.effectiveRunDir()));
            Files.writeString(Path.of(inventory.effectiveRunDir(), "worker-1.pid"), other.pid() + "\n");
            assertEquals("worker-1 -\n", run(NodeScripts.states(inventory, List.of(node))).stdout());
            assertEquals("worker-1 not-running\n", run(NodeScripts.stop(inventory, List.of(node))).stdout());
            assertTrue(other.isAlive(), "stop left the unrelated process alone");
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void shouldNameWhatAHostLacks() throws Exception {
        Files.delete(dir.resolve("model.gguf"));
        Files.delete(dir.resolve("home/cli/target/dist/lib"));
        Ssh.Result r = run(NodeScripts.preflight(inventory));
        assertEquals(NodeScripts.MISSING, r.exitCode());
        assertTrue(r.stdout().contains("model file not found: " + dir.resolve("model.gguf")), r.stdout());
        assertTrue(r.stdout().contains("no built distribution"), r.stdout());
        Files.writeString(dir.resolve("model.gguf"), "");
        Files.createDirectories(dir.resolve("home/cli/target/dist/lib"));
        assertEquals(0, run(NodeScripts.preflight(inventory)).exitCode());
    }

    @Test
    void shouldTailTheLog() throws Exception {
        start();
        assertTrue(run(NodeScripts.tail(inventory, node, 5)).stdout().contains("bin/baton deploy: starting worker-1"));
        assertTrue(run(NodeScripts.tail(inventory, inventory.nodes().get(0), 5)).stdout().contains("(no log at "));
    }
}
