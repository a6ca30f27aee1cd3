package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.baton.router.tls.TlsSettings;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * Options of every cluster node process (router, prefill, decode, worker); they override cluster.conf.
 *
 * <p>Addressing (docs/design.md, "Deployment"): {@code --host} is the address other nodes reach this node
 * at: Pekko's canonical hostname, and the host of the KV endpoint a prefill or decode node advertises
 * (unless {@code --kv-host} says otherwise). {@code --bind} is the local address to listen on where it
 * differs (NAT, containers): Pekko's bind-hostname, the Aeron KV subscriptions and the node's metrics and
 * health port. A node that would advertise a loopback address to a cluster whose seeds are not on
 * loopback refuses to start: the others could never reach it.
 */
final class ClusterOptions {

    static final String CANONICAL_HOST = "pekko.remote.artery.canonical.hostname";
    static final String BIND_HOST = "pekko.remote.artery.bind.hostname";
    static final String SEEDS = "pekko.cluster.seed-nodes";

    @Option(names = "--host", paramLabel = "ADDR",
            description = "address other nodes reach this node at: Pekko's canonical hostname and the KV endpoint "
                    + "(default: from config, 127.0.0.1)")
    String host;

    @Option(names = "--bind", paramLabel = "ADDR",
            description = "local address to listen on where it differs from --host (NAT, containers; 0.0.0.0 for every "
                    + "interface): Pekko's bind-hostname, the KV subscriptions, the metrics and health port (default: --host)")
    String bind;

    @Option(names = "--cluster-port", paramLabel = "P", description = "this node's Pekko (Artery) port (default: from config)")
    Integer clusterPort;

    @Option(names = "--seed", paramLabel = "HOST:PORT", description = "seed node to join (repeatable; default: from config)")
    List<String> seeds;

    @Option(names = "--node-id", paramLabel = "ID", description = "this node's id (default: role-port)")
    String nodeId;

    @Option(names = "--cluster-cert", paramLabel = "PEM",
            description = "TLS between nodes (baton.cluster.tls): this node's certificate; with --cluster-key")
    java.nio.file.Path clusterCert;

    @Option(names = "--cluster-key", paramLabel = "PEM", description = "the private key of --cluster-cert")
    java.nio.file.Path clusterKey;

    @Option(names = "--cluster-trust", paramLabel = "PEM",
            description = "certificates a peer's must chain to (default: --cluster-cert itself, one certificate shared by the cluster)")
    java.nio.file.Path clusterTrust;

    @Option(names = "--join-check", paramLabel = "one|by-name",
            description = "which nodes may join (baton.cluster.join-check.models): one model, or several told apart by"
                    + " name (a router serving several models); set it alike on every node (default: from config, one)")
    String joinCheck;

    /** The node's configuration: flags over {@code base}, with its role; refuses addressing that cannot work. */
    Config apply(Config base, String role) {
        Config c = base;
        if (clusterPort != null) {
            c = ConfigFactory.parseString("pekko.remote.artery.canonical.port = " + clusterPort).withFallback(c);
        }
        if (host != null) {
            c = c.withValue(CANONICAL_HOST, ConfigValueFactory.fromAnyRef(checkAddress("--host", host)));
        }
        if (bind != null) {
            c = c.withValue(BIND_HOST, ConfigValueFactory.fromAnyRef(checkAddress("--bind", bind)));
        }
        if (seeds != null && !seeds.isEmpty()) {
            c = c.withValue(SEEDS, ConfigValueFactory.fromIterable(seeds.stream().map(ClusterOptions::seedAddress).toList()));
        }
        if (joinCheck != null) {
            c = c.withValue(dev.baton.common.cluster.JoinCompatChecker.MODELS_PATH, ConfigValueFactory.fromAnyRef(joinCheck));
            dev.baton.common.cluster.JoinCompatChecker.models(c); // a bad value stops the node here, named
        }
        c = c.withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(List.of(role)));
        c = clusterTls(c.resolve());
        checkReachable(c);
        return c;
    }

    /**
     * {@code baton.cluster.tls} (with the {@code --cluster-*} flags over it) as Artery's configuration: when on,
     * transport {@code tls-tcp} through {@link ClusterTlsEngineProvider}. The key, certificate and trust are read
     * here, so a file that cannot be used stops the node before it starts, named.
     */
    Config clusterTls(Config c) {
        String k = ClusterTlsEngineProvider.KEY;
        if (clusterCert != null || clusterKey != null) {
            c = c.withValue(k + ".enabled", ConfigValueFactory.fromAnyRef(true))
                    .withValue(k + ".certificate", ConfigValueFactory.fromAnyRef(clusterCert == null ? "" : clusterCert.toString()))
                    .withValue(k + ".private-key", ConfigValueFactory.fromAnyRef(clusterKey == null ? "" : clusterKey.toString()))
                    .withValue(k + ".keystore", ConfigValueFactory.fromAnyRef(""));
        }
        if (clusterTrust != null) {
            c = c.withValue(k + ".trust", ConfigValueFactory.fromAnyRef(clusterTrust.toString()));
        }
        TlsSettings tls = TlsSettings.from(c, k);
        if (!tls.enabled()) {
            return c;
        }
        tls.trusted(tls.keyMaterial());
        return c.withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
                .withValue("pekko.remote.artery.ssl.ssl-engine-provider",
                        ConfigValueFactory.fromAnyRef(ClusterTlsEngineProvider.class.getName()));
    }

    /**
     * The address this node advertises: Pekko's canonical hostname, with Pekko's placeholders
     * {@code <getHostAddress>} and {@code <getHostName>} (its reference default) resolved as Pekko does.
     */
    static String advertised(Config c) {
        String h = c.getString(CANONICAL_HOST);
        try {
            return switch (h) {
                case "<getHostAddress>" -> java.net.InetAddress.getLocalHost().getHostAddress();
                case "<getHostName>" -> java.net.InetAddress.getLocalHost().getHostName();
                default -> h;
            };
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(CANONICAL_HOST + " is " + h + ", but this host's address cannot be "
                    + "found (" + e.getMessage() + "): set --host", e);
        }
    }

    /** The local address this node listens on: Pekko's bind-hostname when set, else the advertised address. */
    static String bindAddress(Config c) {
        String b = c.hasPath(BIND_HOST) ? c.getString(BIND_HOST) : "";
        return b.isBlank() ? advertised(c) : b;
    }

    /**
     * Refuses a node that advertises a loopback address to seeds that are not on loopback (nodes on other
     * hosts would try to reach it at their own loopback), naming the flag to set.
     */
    static void checkReachable(Config c) {
        String self = c.getString(CANONICAL_HOST);
        if (!isLoopback(self)) {
            return;
        }
        for (String seed : c.getStringList(SEEDS)) {
            String seedHost = seedHost(seed);
            if (seedHost != null && !isLoopback(seedHost)) {
                throw new IllegalArgumentException("this node would advertise the loopback address " + self
                        + " to a cluster whose seed " + seed + " is not on loopback: other hosts could not reach it; "
                        + "set --host to an address of this host that the other nodes reach (and --bind if it must "
                        + "listen on another one)");
            }
        }
    }

    /** Whether {@code host} names this host only: {@code 127.0.0.0/8}, {@code ::1} or {@code localhost}. */
    static boolean isLoopback(String host) {
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1");
    }

    /** The host of a seed node address {@code pekko://system@host:port}, or null if it has none. */
    static String seedHost(String seed) {
        int at = seed.indexOf('@');
        int colon = seed.lastIndexOf(':');
        if (at < 0 || colon <= at) {
            return null;
        }
        return seed.substring(at + 1, colon);
    }

    private static String seedAddress(String hostPort) {
        String s = hostPort.trim();
        int colon = s.lastIndexOf(':');
        boolean portOk = colon > 0 && colon < s.length() - 1 && s.substring(colon + 1).chars().allMatch(Character::isDigit);
        if (!portOk) {
            throw new IllegalArgumentException("--seed must be HOST:PORT (the Pekko address of a seed node, e.g. "
                    + "10.0.0.1:25520), got \"" + hostPort + "\"");
        }
        int port = Integer.parseInt(s.substring(colon + 1));
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("--seed " + hostPort + ": port must be from 1 to 65535");
        }
        checkAddress("--seed", s.substring(0, colon));
        return "pekko://baton@" + s;
    }

    private static String checkAddress(String flag, String value) {
        String v = value.trim();
        if (v.isEmpty() || v.contains("/") || v.contains(" ") || v.contains("@")) {
            throw new IllegalArgumentException(flag + " must be a host name or an IP address, got \"" + value + "\"");
        }
        return v;
    }

    String nodeId(Config c, String role) {
        return nodeId != null ? nodeId : role + "-" + c.getInt("pekko.remote.artery.canonical.port");
    }
}
