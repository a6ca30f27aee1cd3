package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Baton's management settings as Pekko Management reads them, and a real management endpoint whose
 * {@code /ready} follows the node's health.
 */
@Timeout(60)
class ManagementTest {

    /** The repository's cluster.conf under {@code overrides}, as a node reads it. */
    static Config config(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(BatonConfig.load(java.nio.file.Path.of("../cluster.conf"))).resolve();
    }

    @Test
    void shouldLeavePekkoManagementAloneWithoutAPort() {
        Config c = Management.configure(config(""));
        assertFalse(ManagementSettings.from(c).enabled());
        assertEquals(config("").getStringList("pekko.cluster.seed-nodes"), c.getStringList("pekko.cluster.seed-nodes"));
    }

    @Test
    void shouldAdvertiseTheClusterAddressByDefault() {
        Config c = Management.configure(config("""
                baton.management.port = 7700
                pekko.remote.artery.canonical.hostname = "10.1.2.3"
                """));
        assertEquals(7700, c.getInt("pekko.management.http.port"));
        assertEquals("10.1.2.3", c.getString("pekko.management.http.hostname"));
    }

    @Test
    void shouldBindWhereTheClusterBindsWhenThatDiffers() {
        Config c = Management.configure(config("""
                baton.management.port = 7700
                pekko.remote.artery.canonical.hostname = "10.1.2.3"
                pekko.remote.artery.bind.hostname = "0.0.0.0"
                """));
        assertEquals("10.1.2.3", c.getString("pekko.management.http.hostname"));
        assertEquals("0.0.0.0", c.getString("pekko.management.http.bind-hostname"));
    }

    @Test
    void shouldTakeExplicitAddressesOverTheClusterAddress() {
        Config c = Management.configure(config("""
                baton.management { port = 7700, host = "node-a.example", bind = "10.9.9.9" }
                pekko.remote.artery.canonical.hostname = "10.1.2.3"
                """));
        assertEquals("node-a.example", c.getString("pekko.management.http.hostname"));
        assertEquals("10.9.9.9", c.getString("pekko.management.http.bind-hostname"));
    }

    @Test
    void shouldDropSeedNodesWhenFormingByBootstrap() {
        Config c = Management.configure(config("""
                baton.management.port = 7700
                baton.cluster.formation = bootstrap
                pekko.cluster.seed-nodes = ["pekko://baton@127.0.0.1:25520"]
                """));
        assertEquals(List.of(), c.getStringList("pekko.cluster.seed-nodes"));
    }

    @Test
    void shouldRefuseBootstrapWithoutAManagementPort() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> Management.configure(config("baton.cluster.formation = bootstrap")));
        assertTrue(e.getMessage().contains("baton.cluster.formation") && e.getMessage().contains("--management-port"),
                e.getMessage());
    }

    @Test
    void shouldRefuseAnUnknownFormation() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> Management.configure(config("baton.cluster.formation = gossip")));
        assertTrue(e.getMessage().contains("seeds or bootstrap") && e.getMessage().contains("gossip"), e.getMessage());
    }

    @Test
    void shouldRefuseAPortOutOfRange() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> Management.configure(config("baton.management.port = 70000")));
        assertTrue(e.getMessage().contains("baton.management.port") && e.getMessage().contains("70000"), e.getMessage());
    }

    @Test
    void shouldTakeThePortFromTheFlag() {
        ManagementOptionsCommand command = new ManagementOptionsCommand();
        new picocli.CommandLine(command).parseArgs("--management-port", "7711");
        assertEquals(7711, command.management.apply(config("")).getInt("pekko.management.http.port"));
    }

    /** A picocli command carrying the mixin, to check the option parses. */
    @picocli.CommandLine.Command(name = "probe")
    static final class ManagementOptionsCommand {
        @picocli.CommandLine.Mixin
        ManagementOptions management = new ManagementOptions();
    }

    @Test
    void shouldAnswerAliveAndReadyFromTheNodeState() throws Exception {
        int port;
        int clusterPort;
        try (ServerSocket a = new ServerSocket(0); ServerSocket b = new ServerSocket(0)) {
            port = a.getLocalPort();
            clusterPort = b.getLocalPort();
        }
        Config c = Management.configure(config("""
                baton.management.port = %d
                pekko.loglevel = WARNING
                pekko.remote.artery.canonical.port = %d
                pekko.cluster.seed-nodes = ["pekko://baton@127.0.0.1:%d"]
                """.formatted(port, clusterPort, clusterPort)));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "baton", c);
        NodeHealth health = new NodeHealth();
        try {
            Management.start(system, health::ready);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            String base = "http://127.0.0.1:" + port;
            assertEquals(200, status(http, base + "/alive"));
            // an Up member of its one-node cluster (Pekko's cluster-membership check passes), but not serving
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            String members;
            while (!(members = get(http, base + "/cluster/members").body()).contains("\"status\":\"Up\"")) {
                assertTrue(System.nanoTime() < deadline, "not Up: " + members);
                Thread.sleep(200);
            }
            HttpResponse<String> notServing = get(http, base + "/ready");
            assertEquals(500, notServing.statusCode(), notServing.body()); // Pekko Management's answer to a failed check
            health.serving();
            awaitStatus(http, base + "/ready", 200);
            health.draining();
            assertEquals(500, status(http, base + "/ready"));
            assertEquals(200, status(http, base + "/alive"));
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldNameTheAddressWhenThePortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Config c = Management.configure(config("""
                    baton.management.port = %d
                    pekko.loglevel = OFF
                    pekko.remote.artery.canonical.port = 0
                    pekko.cluster.seed-nodes = []
                    """.formatted(taken.getLocalPort())));
            ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "baton", c);
            try {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> Management.start(system, () -> true));
                assertTrue(e.getMessage().contains("127.0.0.1:" + taken.getLocalPort()), e.getMessage());
            } finally {
                system.terminate();
                system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
    }

    static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static int status(HttpClient http, String url) throws Exception {
        return get(http, url).statusCode();
    }

    static void awaitStatus(HttpClient http, String url, int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            last = status(http, url);
            if (last == expected) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(url + " answered " + last + ", expected " + expected);
    }
}
