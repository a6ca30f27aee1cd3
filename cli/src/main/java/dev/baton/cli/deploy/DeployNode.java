package dev.baton.cli.deploy;

import java.net.URI;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One node process of a deployment: which host runs it, its id and its ports, and the {@code bin/baton} command
 * line that starts it. Planned from an {@link Inventory} by {@link #plan}; immutable.
 *
 * <p>Ports on a host, for its i-th process (0-based, the router first where the host has it): Pekko port
 * {@code cluster-port + i}; a node's metrics port (/metrics, /alive, /ready) {@code ports.metrics + j} for the
 * j-th node that is not the router; a prefill or decode node's KV ports {@code ports.kv + 2k} (blocks) and
 * {@code ports.kv + 2k + 1} (acknowledgements) for the k-th such node. The router serves /ready on
 * {@code ports.http}.
 *
 * @param id          node id ({@code --node-id}): prefix, role, number within the role across the inventory
 * @param role        the node command
 * @param host        where it runs
 * @param clusterPort its Pekko port
 * @param port        the router's HTTP port, or a node's metrics port: where its {@code /ready} is
 * @param kvPort      the first of its two KV ports (prefill, decode), else 0
 */
public record DeployNode(String id, Role role, Inventory.Host host, int clusterPort, int port, int kvPort) {

    /** The node commands a deployment starts, in the order a host starts them. */
    public enum Role {
        ROUTER, PREFILL, DECODE, WORKER;

        /** The {@code bin/baton} subcommand and the inventory's name for the role. */
        public String command() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The role called {@code name} in an inventory, or null. */
        static Role named(String name) {
            for (Role r : values()) {
                if (r.command().equals(name)) {
                    return r;
                }
            }
            return null;
        }

        boolean shipsKv() {
            return this == PREFILL || this == DECODE;
        }
    }

    /** The inventory's node processes: the router first, then each host's prefill, decode and worker nodes in order. */
    static List<DeployNode> plan(Inventory inventory) {
        return plan(inventory, false);
    }

    /**
     * The nodes the SLO planner may start (each host's {@code planner} counts), host by host: on a host they take
     * the ports after its inventory nodes, and their ids continue each role's numbering after the inventory's.
     */
    static List<DeployNode> planSlots(Inventory inventory) {
        return plan(inventory, true);
    }

    private static List<DeployNode> plan(Inventory inventory, boolean slots) {
        List<DeployNode> nodes = new ArrayList<>();
        Inventory.Host routerHost = inventory.routerHost();
        if (!slots) {
            nodes.add(new DeployNode(inventory.nodeIdPrefix() + "router", Role.ROUTER, routerHost, inventory.clusterPort(),
                    routerHost.ports().http(), 0));
        }
        Map<Role, Integer> numbers = new EnumMap<>(Role.class);
        // where each host's counters stand after its inventory nodes: Pekko ordinal, metrics and KV index
        Map<Inventory.Host, int[]> next = new LinkedHashMap<>();
        for (Inventory.Host host : inventory.hosts()) {
            int[] c = {host == routerHost ? 1 : 0, 0, 0};
            for (Role role : List.of(Role.PREFILL, Role.DECODE, Role.WORKER)) {
                for (int i = 0; i < host.roles().getOrDefault(role, 0); i++) {
                    DeployNode n = next(inventory, host, role, numbers, c);
                    if (!slots) {
                        nodes.add(n);
                    }
                }
            }
            next.put(host, c);
        }
        if (slots) {
            next.forEach((host, c) -> {
                for (Role role : List.of(Role.PREFILL, Role.DECODE, Role.WORKER)) {
                    for (int i = 0; i < host.planner().getOrDefault(role, 0); i++) {
                        nodes.add(next(inventory, host, role, numbers, c));
                    }
                }
            });
        }
        return List.copyOf(nodes);
    }

    /** The next node of {@code role} on {@code host}; advances the role's number and the host's counters {@code c}. */
    private static DeployNode next(Inventory inventory, Inventory.Host host, Role role, Map<Role, Integer> numbers, int[] c) {
        String id = inventory.nodeIdPrefix() + role.command() + "-" + numbers.merge(role, 1, Integer::sum);
        return new DeployNode(id, role, host, inventory.clusterPort() + c[0]++, host.ports().metrics() + c[1]++,
                role.shipsKv() ? host.ports().kv() + 2 * c[2]++ : 0);
    }

    /** Ports this process listens on, by name (for the inventory's collision check). */
    Map<String, Integer> ports() {
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("cluster", clusterPort);
        ports.put(role == Role.ROUTER ? "http" : "metrics", port);
        if (role.shipsKv()) {
            ports.put("kv", kvPort);
            ports.put("kv reply", kvPort + 1);
        }
        return ports;
    }

    /** Where this process answers {@code GET /ready} (200 once it serves), from outside its host. */
    public URI readyUri() {
        return URI.create("http://" + hostPort(host.address(), port) + "/ready");
    }

    /**
     * The arguments of {@code bin/baton} that start this node.
     *
     * @param seeds the seeds to join ({@code HOST:PORT}); empty for the inventory's seed, the router. A router
     *              restarted beside running nodes lists them (not itself): as the first of its own seeds it would
     *              form a new cluster of its own when they do not answer within Pekko's seed-node-timeout
     */
    public List<String> arguments(Inventory inventory, List<String> seeds) {
        List<String> a = new ArrayList<>(List.of(role.command(), "--host", host.address()));
        if (!host.bind().isEmpty()) {
            a.addAll(List.of("--bind", host.bind()));
        }
        a.addAll(List.of("--cluster-port", Integer.toString(clusterPort)));
        for (String seed : seeds.isEmpty() ? List.of(inventory.seed()) : seeds) {
            a.addAll(List.of("--seed", seed));
        }
        a.addAll(List.of("--node-id", id, "--model", inventory.model()));
        if (!inventory.draftModel().isEmpty() && (role == Role.DECODE || role == Role.WORKER)) {
            a.addAll(List.of("--draft-model", inventory.draftModel()));
        }
        if (inventory.threads() > 0) {
            a.addAll(List.of("--threads", Integer.toString(inventory.threads())));
        }
        if (!inventory.config().isEmpty()) {
            a.addAll(List.of("--config", inventory.config()));
        }
        if (role == Role.ROUTER) {
            a.addAll(List.of("--http-host", host.bind().isEmpty() ? host.address() : host.bind(), "--port",
                    Integer.toString(port)));
        } else {
            a.addAll(List.of("--metrics-port", Integer.toString(port)));
        }
        if (role.shipsKv()) {
            a.addAll(List.of("--kv-port", Integer.toString(kvPort), "--kv-reply-port", Integer.toString(kvPort + 1)));
        }
        return a;
    }

    /** {@code address:port} of this node's Pekko endpoint (a seed for others). */
    public String clusterAddress() {
        return hostPort(host.address(), clusterPort);
    }

    /** {@code address:port}, an IPv6 address in brackets. */
    static String hostPort(String address, int port) {
        return (address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address) + ":" + port;
    }
}
