package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.List;
import picocli.CommandLine.Option;

/** Options of every cluster node process; they override cluster.conf. */
final class ClusterOptions {

    @Option(names = "--cluster-port", paramLabel = "P", description = "this node's Pekko (Artery) port (default: from config)")
    Integer clusterPort;

    @Option(names = "--seed", paramLabel = "HOST:PORT", description = "seed node to join (repeatable; default: from config)")
    List<String> seeds;

    @Option(names = "--node-id", paramLabel = "ID", description = "this node's id (default: role-port)")
    String nodeId;

    /** The node's configuration: flags over {@code base}, with its role. */
    Config apply(Config base, String role) {
        Config c = base;
        if (clusterPort != null) {
            c = ConfigFactory.parseString("pekko.remote.artery.canonical.port = " + clusterPort).withFallback(c);
        }
        if (seeds != null && !seeds.isEmpty()) {
            c = c.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(
                    seeds.stream().map(s -> "pekko://baton@" + s).toList()));
        }
        c = c.withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(List.of(role)));
        return c.resolve();
    }

    String nodeId(Config c, String role) {
        return nodeId != null ? nodeId : role + "-" + c.getInt("pekko.remote.artery.canonical.port");
    }
}
