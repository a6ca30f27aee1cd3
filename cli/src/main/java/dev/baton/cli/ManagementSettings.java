package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;

/**
 * Settings of a node's Pekko Management endpoint and of its cluster formation, read once from
 * {@code baton.management} and {@code baton.cluster} (every key is described in cli's
 * {@code reference.conf}) and validated. Immutable.
 *
 * @param port      TCP port of the endpoint, or {@link #NONE} for no endpoint
 * @param host      address other nodes reach the endpoint at; empty: Pekko Management's own default
 *                  (the local host's address), used only when the cluster address is not set either
 * @param bind      address the endpoint binds to; empty: {@code host}
 * @param formation how the node finds its cluster
 */
record ManagementSettings(int port, String host, String bind, ClusterFormation formation) {

    /** {@link #port()} when the node serves no management endpoint. */
    static final int NONE = -1;

    ManagementSettings {
        if (port != NONE && (port < 1 || port > 65535)) {
            throw new ConfigException.BadValue("baton.management.port",
                    "must be a TCP port from 1 to 65535, or -1 for no management endpoint, got " + port);
        }
        if (formation == ClusterFormation.BOOTSTRAP && port == NONE) {
            throw new ConfigException.BadValue(ClusterFormation.KEY,
                    "bootstrap finds the other nodes through their management endpoints: set baton.management.port "
                            + "(--management-port)");
        }
    }

    /**
     * Reads the settings from a resolved root config. An empty {@code host} becomes the node's cluster
     * address ({@code pekko.remote.artery.canonical.hostname}) when that is an address rather than one of
     * Pekko's {@code <getHostAddress>}-style placeholders; an empty {@code bind} becomes
     * {@code pekko.remote.artery.bind.hostname} when that is set.
     *
     * @throws ConfigException naming the key that is missing, of the wrong type or out of range
     */
    static ManagementSettings from(Config root) {
        int port = root.getInt("baton.management.port");
        String host = root.getString("baton.management.host").trim();
        if (host.isEmpty()) {
            host = address(root, "pekko.remote.artery.canonical.hostname");
        }
        String bind = root.getString("baton.management.bind").trim();
        if (bind.isEmpty()) {
            bind = address(root, "pekko.remote.artery.bind.hostname");
        }
        return new ManagementSettings(port, host, bind,
                ClusterFormation.parse(root.getString(ClusterFormation.KEY)));
    }

    private static String address(Config root, String path) {
        if (!root.hasPath(path)) {
            return "";
        }
        String value = root.getString(path).trim();
        return value.startsWith("<") ? "" : value;
    }

    boolean enabled() {
        return port != NONE;
    }
}
