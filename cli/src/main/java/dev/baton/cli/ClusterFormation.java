package dev.baton.cli;

import com.typesafe.config.ConfigException;
import java.util.Locale;

/** How a node finds its cluster ({@code baton.cluster.formation}). */
enum ClusterFormation {
    /** Join the seed nodes of {@code pekko.cluster.seed-nodes}. */
    SEEDS,
    /** Pekko Management's Cluster Bootstrap over service discovery; no seed nodes. */
    BOOTSTRAP;

    static final String KEY = "baton.cluster.formation";

    static ClusterFormation parse(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "seeds" -> SEEDS;
            case "bootstrap" -> BOOTSTRAP;
            default -> throw new ConfigException.BadValue(KEY, "must be seeds or bootstrap, got \"" + value + "\"");
        };
    }
}
