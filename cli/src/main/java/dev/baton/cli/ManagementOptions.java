package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import picocli.CommandLine.Option;

/**
 * The management option of every node command; it overrides {@code baton.management.port} in
 * cluster.conf. {@link #apply(Config)} also prepares Pekko Management's keys ({@link Management#configure}).
 */
final class ManagementOptions {

    @Option(names = "--management-port", paramLabel = "P",
            description = "serve Pekko Management (/alive, /ready; the contact point of cluster bootstrap) on this port "
                    + "(default: baton.management.port; -1: none)")
    Integer port;

    /** The node's configuration with the flag over {@code base} and Pekko Management's keys set. */
    Config apply(Config base) {
        Config c = base;
        if (port != null) {
            c = c.withValue("baton.management.port", ConfigValueFactory.fromAnyRef(port));
        }
        return Management.configure(c);
    }
}
