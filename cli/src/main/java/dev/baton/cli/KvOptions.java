package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.kvtransfer.aeron.AeronTransportSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The kv-transfer endpoint of a prefill or decode node: Aeron UDP, KV blocks in on
 * {@code host:port} and acknowledgements in on {@code host:reply-port} (by default UDP ports
 * {@code 20000 + c % 20000} and {@code 40000 + c % 20000} for cluster port {@code c}, so nodes on
 * one host with cluster ports less than 20000 apart never collide), with the node's own
 * media driver in a directory named after the node. The endpoint's host is {@code --kv-host}, else the
 * node's advertised address ({@code --host}); the subscriptions listen on {@code --bind} where it differs. A configuration file that sets
 * {@code baton.kv-transfer.aeron.channel} to something else than {@code aeron:ipc}, with no port
 * option given, is used as it is.
 */
final class KvOptions {

    @Option(names = "--kv-port", paramLabel = "P",
            description = "UDP port this node receives KV blocks on (default: 20000 + cluster port % 20000)")
    Integer kvPort;

    @Option(names = "--kv-reply-port", paramLabel = "P",
            description = "UDP port this node receives transfer acknowledgements on (default: 40000 + cluster port % 20000, "
                    + "or KV port + 1 with --kv-port)")
    Integer kvReplyPort;

    @Option(names = "--kv-host", paramLabel = "HOST",
            description = "address other nodes reach this node's KV endpoint at (default: --host, the node's advertised address)")
    String kvHost;

    AeronTransportSettings settings(Config config, NodeId node) {
        AeronTransportSettings s = AeronTransportSettings.from(config);
        boolean configured = !s.channel().startsWith("aeron:ipc");
        if (kvPort != null || kvReplyPort != null || !configured) {
            int cluster = config.getInt("pekko.remote.artery.canonical.port") % 20000;
            int port = kvPort != null ? kvPort : 20000 + cluster;
            int reply = kvReplyPort != null ? kvReplyPort : kvPort != null ? kvPort + 1 : 40000 + cluster;
            if (port < 1 || port > 65535 || reply < 1 || reply > 65535 || reply == port) {
                throw new IllegalArgumentException("KV ports must be two different ports from 1 to 65535, got " + port
                        + " and " + reply + " (set --kv-port and --kv-reply-port)");
            }
            String advertised = kvHost != null ? kvHost : ClusterOptions.advertised(config);
            s = s.withChannels("aeron:udp?endpoint=" + advertised + ":" + port, s.streamId(),
                    "aeron:udp?endpoint=" + advertised + ":" + reply, s.replyStreamId());
            String bind = config.getString(ClusterOptions.BIND_HOST);
            if (s.bindAddress().isEmpty() && !bind.isBlank() && !bind.equals(advertised)) {
                s = s.withBindAddress(bind);
            }
        }
        if (config.getString(AeronTransportSettings.PATH + ".aeron-dir").isBlank()) {
            Path shm = Path.of("/dev/shm");
            Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
            s = s.withDriver(s.driver(), base.resolve(aeronDirectoryName(node.value(),
                    config.getInt("pekko.remote.artery.canonical.port"))).toString());
        }
        return s;
    }

    /**
     * The default Aeron directory's name (under /dev/shm, else the temporary directory): the node id and its cluster
     * port, so that nodes of the same id in two clusters on one host (two {@code bin/baton up} with other ports) never
     * share a media driver; no two live nodes of a host share a cluster port.
     */
    static String aeronDirectoryName(String nodeId, int clusterPort) {
        return "baton-aeron-" + nodeId + "-" + clusterPort;
    }
}
