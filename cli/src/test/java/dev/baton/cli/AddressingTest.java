package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.NodeId;
import dev.baton.kvtransfer.aeron.AeronTransportSettings;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The addressing flags of the node commands: what each sets in Pekko's and kv-transfer's configuration,
 * and the start-up refusals (a loopback address advertised to a cluster on other hosts, malformed seeds).
 */
class AddressingTest {

    /** What cluster.conf sets for a single host, over the reference config. */
    private static Config base(String seed) {
        return ConfigFactory.parseString("pekko.remote.artery.canonical { hostname = \"127.0.0.1\", port = 25520 }\n"
                + "pekko.cluster.seed-nodes = [\"pekko://baton@" + seed + "\"]").withFallback(ConfigFactory.defaultReference());
    }

    /** Parses {@code args} as the options of a decode node and applies them over {@link #base}. */
    private static Config apply(String... args) {
        DecodeCommand cmd = new DecodeCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd.cluster.apply(base("127.0.0.1:25520"), "decode");
    }

    private static AeronTransportSettings kv(String... args) {
        DecodeCommand cmd = new DecodeCommand();
        new CommandLine(cmd).parseArgs(args);
        Config c = cmd.cluster.apply(base("127.0.0.1:25520"), "decode");
        return cmd.kv.settings(c, new NodeId("decode-test"));
    }

    @Test
    void shouldAdvertiseHostAndListenOnBind() {
        Config c = apply("--host", "10.1.2.3", "--bind", "0.0.0.0", "--cluster-port", "25600", "--seed", "10.1.2.1:25520",
                "--seed", "10.1.2.2:25520");
        assertEquals("10.1.2.3", c.getString("pekko.remote.artery.canonical.hostname"));
        assertEquals("0.0.0.0", c.getString("pekko.remote.artery.bind.hostname"));
        assertEquals(25600, c.getInt("pekko.remote.artery.canonical.port"));
        assertEquals(List.of("pekko://baton@10.1.2.1:25520", "pekko://baton@10.1.2.2:25520"),
                c.getStringList("pekko.cluster.seed-nodes"));
        assertEquals(List.of("decode"), c.getStringList("pekko.cluster.roles"));
        assertEquals("10.1.2.3", ClusterOptions.advertised(c));
        assertEquals("0.0.0.0", ClusterOptions.bindAddress(c));
    }

    @Test
    void shouldListenOnTheAdvertisedAddressWithoutBind() {
        Config c = apply("--host", "10.1.2.3", "--seed", "10.1.2.1:25520");
        assertEquals("10.1.2.3", ClusterOptions.bindAddress(c));
    }

    @Test
    void shouldRefuseToAdvertiseLoopbackToSeedsOnOtherHosts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> apply("--seed", "10.1.2.1:25520"));
        assertTrue(e.getMessage().contains("--host"), e.getMessage());
        assertTrue(e.getMessage().contains("10.1.2.1:25520"), e.getMessage());
        // the same from a configuration file's seeds
        DecodeCommand cmd = new DecodeCommand();
        new CommandLine(cmd).parseArgs();
        assertThrows(IllegalArgumentException.class, () -> cmd.cluster.apply(base("192.0.2.7:25520"), "decode"));
        // loopback to loopback is the single-host default and fine
        assertEquals("127.0.0.1", ClusterOptions.advertised(apply("--seed", "127.0.0.1:25520")));
        assertEquals("localhost", ClusterOptions.advertised(apply("--host", "localhost", "--seed", "127.0.0.1:25520")));
    }

    @Test
    void shouldRefuseMalformedSeedsAndAddresses() {
        for (String bad : List.of("10.1.2.1", "10.1.2.1:", ":25520", "10.1.2.1:port", "10.1.2.1:70000", "pekko://x@h:1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> apply("--host", "10.0.0.9",
                    "--seed", bad), bad);
            assertTrue(e.getMessage().contains("--seed"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> apply("--host", "10.0.0.9/24", "--seed", "10.0.0.1:25520"));
        assertThrows(IllegalArgumentException.class, () -> apply("--bind", " ", "--seed", "127.0.0.1:25520"));
    }

    @Test
    void shouldResolvePekkosHostAddressPlaceholderForTheKvEndpoint() throws Exception {
        Config c = ConfigFactory.parseString("pekko.remote.artery.canonical.hostname = \"<getHostAddress>\"")
                .withFallback(ConfigFactory.defaultReference());
        assertEquals(java.net.InetAddress.getLocalHost().getHostAddress(), ClusterOptions.advertised(c));
    }

    @Test
    void shouldTellLoopbackAddresses() {
        for (String h : List.of("127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]", "LOCALHOST")) {
            assertTrue(ClusterOptions.isLoopback(h), h);
        }
        for (String h : List.of("10.0.0.1", "0.0.0.0", "node-1.baton.svc", "::2", "128.0.0.1")) {
            assertFalse(ClusterOptions.isLoopback(h), h);
        }
    }

    @Test
    void shouldAdvertiseTheKvEndpointOnTheHostUnlessKvHostIsGiven() {
        AeronTransportSettings s = kv("--host", "10.1.2.3", "--cluster-port", "25600");
        assertEquals("aeron:udp?endpoint=10.1.2.3:25600", s.channel());
        assertEquals("aeron:udp?endpoint=10.1.2.3:45600", s.replyChannel());
        assertEquals("", s.bindAddress(), "no --bind: the subscriptions listen on the advertised address");

        s = kv("--host", "10.1.2.3", "--kv-host", "10.9.9.9", "--kv-port", "31000", "--cluster-port", "25600");
        assertEquals("aeron:udp?endpoint=10.9.9.9:31000", s.channel());
        assertEquals("aeron:udp?endpoint=10.9.9.9:31001", s.replyChannel());

        s = kv("--host", "203.0.113.5", "--bind", "0.0.0.0", "--cluster-port", "25600");
        assertEquals("aeron:udp?endpoint=203.0.113.5:25600", s.channel(), "senders use the advertised address");
        assertEquals("0.0.0.0", s.bindAddress(), "the subscriptions listen on --bind");

        assertEquals("aeron:udp?endpoint=127.0.0.1:25520", kv().channel(), "the single-host default");
    }
}
