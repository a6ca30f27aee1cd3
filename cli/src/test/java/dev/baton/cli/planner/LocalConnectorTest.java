package dev.baton.cli.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.PlannerConfigException;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.Pool;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local connector's planning (ports, node ids, arguments, the pids file) and its handling of what it started,
 * with {@code sleep} processes standing in for node JVMs (the it/ tests start real nodes).
 */
@Timeout(60)
class LocalConnectorTest {

    @TempDir
    Path home;

    private final List<Process> processes = new ArrayList<>();
    private final List<List<String>> launched = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
    }

    private Config config(String local) {
        return ConfigFactory.parseString(local).withFallback(ConfigFactory.defaultReference()).resolve();
    }

    private ConnectorContext context() {
        return new ConnectorContext(List.of("127.0.0.1:25520"), "127.0.0.1", Path.of("/models/m.gguf"), null, 2, home);
    }

    /** A connector whose nodes are {@code sleep 60} processes and whose ports are all free. */
    private LocalConnector connector(String local) {
        LocalConnector.Settings s = LocalConnector.Settings.from(config(local), context());
        return new LocalConnector(s, context(), new PortProbe(p -> true, p -> true), (log, heap, args) -> {
            launched.add(args);
            Files.createDirectories(log.getParent());
            Process p = new ProcessBuilder("sleep", "60").redirectOutput(log.toFile()).start();
            processes.add(p);
            return p;
        });
    }

    @Test
    void shouldSkipPortsSomethingHolds() throws IOException {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(0));
            int port = taken.getLocalPort();
            int got = PortProbe.system().tcp(port, "test");
            assertNotEquals(port, got);
            assertTrue(got > port && got < port + PortProbe.RANGE, "the next free one: " + got);
        }
    }

    @Test
    void shouldSkipUdpPairsWithAHeldPort() throws IOException {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(0))) {
            int port = taken.getLocalPort();
            int got = PortProbe.system().udpPair(port - 1, "test");
            assertTrue(got > port, "neither port of the pair may be held: " + got + " with " + port + " held");
        }
    }

    @Test
    void shouldNotHandOutAPortTwice() {
        PortProbe probe = new PortProbe(p -> true, p -> true);
        assertEquals(9300, probe.tcp(9300, "a"));
        assertEquals(9301, probe.tcp(9300, "b"));
        assertEquals(22000, probe.udpPair(22000, "c"));
        assertEquals(22002, probe.udpPair(22000, "d"));
    }

    @Test
    void shouldNameWhatFoundNoFreePort() {
        PortProbe probe = new PortProbe(p -> false, p -> false);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> probe.tcp(9300, "prefill-p1's --metrics-port"));
        assertTrue(e.getMessage().contains("prefill-p1's --metrics-port from 9300 to 10299"), e.getMessage());
    }

    @Test
    void shouldNumberNodeIdsPerRoleAfterLogsAlreadyInTheRunDirectory() throws IOException {
        LocalConnector c = connector("");
        Files.createDirectories(home.resolve("run/current"));
        Files.writeString(home.resolve("run/current/prefill-p1.log"), "an earlier router's node\n");
        assertEquals("prefill-p2", c.nextNodeId(Pool.PREFILL));
        assertEquals("prefill-p3", c.nextNodeId(Pool.PREFILL));
        assertEquals("decode-p1", c.nextNodeId(Pool.DECODE));
    }

    @Test
    void shouldStartNodesWithTheRoutersArgumentsAndOwnPorts() throws IOException {
        LocalConnector c = connector("baton.planner.local { threads = 3, kv-port = 23000 }");
        c.start(Pool.PREFILL, 1);
        c.start(Pool.WORKER, 1);
        assertEquals(List.of("prefill", "--node-id", "prefill-p1", "--cluster-port", "25600", "--metrics-port", "9300",
                "--kv-port", "23000", "--kv-reply-port", "23001", "--seed", "127.0.0.1:25520", "--host", "127.0.0.1",
                "--model", "/models/m.gguf", "--threads", "3"), launched.get(0));
        assertEquals(List.of("worker", "--node-id", "worker-p1", "--cluster-port", "25601", "--metrics-port", "9301",
                "--seed", "127.0.0.1:25520", "--host", "127.0.0.1", "--model", "/models/m.gguf", "--threads", "3"),
                launched.get(1));
    }

    @Test
    void shouldPassTheRoutersThreadsWhenNoneAreConfigured() throws IOException {
        LocalConnector c = connector("");
        c.start(Pool.DECODE, 1);
        List<String> args = launched.getFirst();
        assertEquals("2", args.get(args.indexOf("--threads") + 1));
    }

    @Test
    void shouldAppendEachPidToThePidsFileBinBatonDownReads() throws IOException {
        Path pids = home.resolve("run/current/pids");
        Files.createDirectories(pids.getParent());
        Files.writeString(pids, "4242\n");
        connector("").start(Pool.DECODE, 2);
        assertEquals(List.of("4242", Long.toString(processes.get(0).pid()), Long.toString(processes.get(1).pid())),
                Files.readAllLines(pids));
        assertTrue(Files.exists(home.resolve("run/current/decode-p1.log")));
    }

    @Test
    void shouldStopOnlyItsNotReadyNodesOfThePoolOldestFirst() throws Exception {
        LocalConnector c = connector("");
        c.start(Pool.PREFILL, 3);
        c.start(Pool.DECODE, 1);
        c.abandon(Pool.PREFILL, 1, Set.of("prefill-p1"));
        assertTrue(processes.get(1).waitFor(10, TimeUnit.SECONDS), "prefill-p2, the oldest not ready, is stopped");
        assertTrue(processes.get(0).isAlive(), "a ready node stays");
        assertTrue(processes.get(2).isAlive(), "one node was asked for");
        assertTrue(processes.get(3).isAlive(), "another pool's node stays");
        assertEquals(List.of("prefill-p1", "prefill-p3", "decode-p1"),
                c.started().stream().map(LocalConnector.Started::nodeId).toList());
    }

    @Test
    void shouldDrainThroughTheClusterWithoutStoppingTheProcess() throws IOException {
        LocalConnector c = connector("");
        c.start(Pool.DECODE, 1);
        AtomicBoolean told = new AtomicBoolean();
        c.drain(Pool.DECODE, "decode-p1", () -> told.set(true));
        assertTrue(told.get());
        assertTrue(processes.getFirst().isAlive(), "the node exits by itself once drained");
        assertTrue(c.started().isEmpty(), "a drained node is no longer the connector's to abandon");
    }

    @Test
    void shouldRefuseABadHeapNamingTheKey() {
        PlannerConfigException e = assertThrows(PlannerConfigException.class,
                () -> LocalConnector.Settings.from(config("baton.planner.local.heap = lots"), context()));
        assertTrue(e.getMessage().startsWith("baton.planner.local.heap: "), e.getMessage());
    }

    @Test
    void shouldRefuseAPortOutOfRangeNamingTheKey() {
        PlannerConfigException e = assertThrows(PlannerConfigException.class,
                () -> LocalConnector.Settings.from(config("baton.planner.local.kv-port = 70000"), context()));
        assertTrue(e.getMessage().startsWith("baton.planner.local.kv-port: must be a port"), e.getMessage());
    }

    @Test
    void shouldRefuseARunDirectoryThatCannotBeCreated() throws IOException {
        Path file = Files.writeString(home.resolve("a-file"), "");
        PlannerConfigException e = assertThrows(PlannerConfigException.class, () -> LocalConnector.create(
                config("baton.planner.local.run-dir = \"" + file.resolve("run") + "\""), context()));
        assertTrue(e.getMessage().startsWith("baton.planner.local.run-dir: cannot create"), e.getMessage());
    }

    @Test
    void shouldCreateTheConfiguredConnector() {
        Config root = config("");
        try (NodeConnector c = Connectors.create(PlannerSettings.from(root), root, context())) {
            assertEquals("local", c.name());
            assertEquals(home.resolve("run/current"), ((LocalConnector) c).settings().runDir());
        }
    }

    @Test
    void shouldRefuseAMissingInventoryNamingTheKey() {
        Config root = config("baton.planner { connector = ssh, ssh.inventory = \"" + home.resolve("none.conf") + "\" }");
        PlannerConfigException e = assertThrows(PlannerConfigException.class,
                () -> Connectors.create(PlannerSettings.from(root), root, context()));
        assertTrue(e.getMessage().startsWith("baton.planner.ssh.inventory: inventory file not found"), e.getMessage());
    }
}
