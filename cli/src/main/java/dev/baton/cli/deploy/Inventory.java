package dev.baton.cli.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A deployment inventory: the hosts of a cluster, the nodes on each, and how to reach them over ssh. Parsed once
 * from a HOCON file over {@code inventory-defaults.conf} (in this package's resources, where every key is
 * described) and validated: an unknown key, a missing value, a bad count or two nodes on one port fail with an
 * {@link InventoryException} that names the key. Immutable.
 *
 * @param source      the inventory file (for messages)
 * @param ssh         how to reach the hosts unless a host says otherwise
 * @param batonHome   directory on the hosts holding {@code bin/baton}
 * @param runDir      directory on the hosts for node logs and pid files
 * @param model       GGUF file on the hosts
 * @param draftModel  GGUF file on the hosts that the decode and worker nodes draft with ({@code --draft-model}), or ""
 * @param config      configuration file on the hosts for {@code --config}, or "" for none
 * @param threads     compute threads per node, 0 for all cores
 * @param heap        JVM heap per node ({@code -Xmx} value, e.g. {@code 2g})
 * @param javaOptions more JVM options for every node, or ""
 * @param environment environment variables for every node process, in file order
 * @param clusterPort the router's Pekko port (the seed)
 * @param nodeIdPrefix prefix of every node id
 * @param apiKey      bearer key for the router's {@code GET /v1/cluster}, or ""
 * @param readyTimeout how long to wait for a node's {@code /ready}
 * @param stopGrace   how long a node has after SIGTERM before SIGKILL
 * @param hosts       the hosts, in file order
 */
public record Inventory(Path source, SshSettings ssh, String batonHome, String runDir, String model, String draftModel,
        String config,
        int threads, String heap, String javaOptions, Map<String, String> environment, int clusterPort,
        String nodeIdPrefix, String apiKey, Duration readyTimeout, Duration stopGrace, List<Host> hosts) {

    /** How to reach a host with OpenSSH. */
    public record SshSettings(String user, int port, String identityFile, List<String> options) {
    }

    /** A host's base ports: the router's HTTP port, the first metrics port, the first KV port. */
    public record Ports(int http, int metrics, int kv) {
    }

    /**
     * One host of the inventory.
     *
     * @param index   position in the inventory's {@code hosts} list (0-based)
     * @param address ssh target and the address its nodes advertise ({@code --host})
     * @param bind    local bind address of its nodes, or "" for {@code address}
     * @param roles   node processes by role (only roles with a count above 0)
     * @param ports   its ports
     * @param ssh     how to reach it
     * @param planner the most nodes by role the SLO planner ({@code connector = ssh}) may start here above
     *                {@code roles} (only roles with a count above 0; never the router)
     */
    public record Host(int index, String address, String bind, Map<DeployNode.Role, Integer> roles, Ports ports,
            SshSettings ssh, Map<DeployNode.Role, Integer> planner) {

        public Host {
            roles = Collections.unmodifiableMap(roles);
            planner = Collections.unmodifiableMap(planner);
        }

        /** {@code user@address} or {@code address}: the ssh destination. */
        public String sshTarget() {
            return ssh.user().isEmpty() ? address : ssh.user() + "@" + address;
        }
    }

    private static final String DEFAULTS = "dev/baton/cli/deploy/inventory-defaults.conf";
    private static final Set<String> HOST_KEYS = Set.of("address", "bind", "roles", "ports", "ssh", "planner");
    private static final Pattern HEAP = Pattern.compile("[1-9][0-9]*[kKmMgG]?");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern NO_SPACE = Pattern.compile("\\S+");
    private static final int MAX_NODES_PER_ROLE = 64;

    public Inventory {
        environment = Collections.unmodifiableMap(new LinkedHashMap<>(environment));
        hosts = List.copyOf(hosts);
    }

    /**
     * Reads and validates {@code file}.
     *
     * @throws InventoryException if the file is missing, not HOCON, or a key is unknown or invalid (named)
     */
    public static Inventory load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InventoryException("inventory file not found: " + file);
        }
        Config parsed;
        try {
            parsed = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)).resolve();
        } catch (ConfigException e) {
            throw new InventoryException("inventory " + file + ": " + e.getMessage(), e);
        }
        return from(parsed, file);
    }

    /** Validates an inventory already parsed (over nothing: the defaults are applied here); {@code source} names it. */
    static Inventory from(Config parsed, Path source) {
        Config defaults = ConfigFactory.parseResources(Inventory.class.getClassLoader(), DEFAULTS,
                ConfigParseOptions.defaults().setAllowMissing(false));
        try {
            checkKeys(parsed.root(), defaults.root(), "", source);
            Config c = parsed.withFallback(defaults).resolve();
            return parse(c, source);
        } catch (ConfigException e) {
            throw new InventoryException("inventory " + source + ": " + e.getMessage(), e);
        }
    }

    /** The node processes of the inventory: the router first, then every host's nodes in order. */
    public List<DeployNode> nodes() {
        return DeployNode.plan(this);
    }

    /**
     * The nodes the SLO planner may start (each host's {@code planner} block), host by host: ids and ports follow
     * those of {@link #nodes()}. {@code bin/baton deploy} starts none of them.
     */
    public List<DeployNode> plannerSlots() {
        return DeployNode.planSlots(this);
    }

    /** The host that runs the router. */
    public Host routerHost() {
        return hosts.stream().filter(h -> h.roles().containsKey(DeployNode.Role.ROUTER)).findFirst().orElseThrow();
    }

    /** {@code routerAddress:clusterPort}: the seed every node joins. */
    public String seed() {
        return DeployNode.hostPort(routerHost().address(), clusterPort);
    }

    /** Where node logs and pid files are on the hosts. */
    public String effectiveRunDir() {
        return runDir.isEmpty() ? batonHome + "/run/deploy" : runDir;
    }

    // ---- parsing

    private static Inventory parse(Config c, Path source) {
        SshSettings ssh = ssh(c.getConfig("ssh"), "ssh", source);
        String home = c.getString("baton-home").strip();
        require(!home.isEmpty(), source, "baton-home", "must be set: the directory on the hosts that holds bin/baton");
        require(home.startsWith("/"), source, "baton-home", "must be an absolute path, got '" + home + "'");
        String runDir = c.getString("run-dir").strip();
        require(runDir.isEmpty() || runDir.startsWith("/"), source, "run-dir", "must be an absolute path, got '" + runDir + "'");
        String model = c.getString("model").strip();
        require(!model.isEmpty(), source, "model", "must be set: the GGUF model file on the hosts");
        int threads = c.getInt("threads");
        require(threads >= 0 && threads <= 4096, source, "threads", "must be 0 (all cores) to 4096, got " + threads);
        String heap = c.getString("heap").strip();
        require(HEAP.matcher(heap).matches(), source, "heap", "must be a JVM heap size such as 384m or 4g, got '" + heap + "'");
        Map<String, String> env = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigValue> e : c.getObject("environment").entrySet()) {
            require(ENV_NAME.matcher(e.getKey()).matches(), source, "environment." + e.getKey(),
                    "is not a valid environment variable name");
            require(e.getValue().valueType() != ConfigValueType.OBJECT && e.getValue().valueType() != ConfigValueType.LIST,
                    source, "environment." + e.getKey(), "must be a string");
            env.put(e.getKey(), String.valueOf(e.getValue().unwrapped()));
        }
        int clusterPort = port(c, "cluster-port", source);
        String prefix = c.getString("node-id-prefix").strip();
        require(prefix.isEmpty() || prefix.matches("[A-Za-z0-9._-]+"), source, "node-id-prefix",
                "may hold only letters, digits, '.', '_' and '-', got '" + prefix + "'");
        Duration ready = positive(c, "ready-timeout", source);
        Duration grace = positive(c, "stop-grace", source);
        Ports ports = ports(c.getConfig("ports"), "ports", source);

        List<? extends ConfigObject> list = c.getObjectList("hosts");
        require(!list.isEmpty(), source, "hosts", "must list at least one host");
        List<Host> hosts = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            hosts.add(host(i, list.get(i).toConfig(), ssh, ports, source));
        }
        String draftModel = c.getString("draft-model").strip();
        Inventory inventory = new Inventory(source, ssh, home, runDir, model, draftModel, c.getString("config").strip(),
                threads,
                heap, c.getString("java-options").strip(), env, clusterPort, prefix, c.getString("api-key"), ready,
                grace, hosts);
        checkRoles(inventory);
        checkPorts(inventory);
        return inventory;
    }

    private static Host host(int i, Config h, SshSettings sshDefaults, Ports portDefaults, Path source) {
        String at = "hosts[" + i + "]";
        require(h.hasPath("address"), source, at + ".address", "must be set (the host's ssh target and --host)");
        String address = h.getString("address").strip();
        require(NO_SPACE.matcher(address).matches(), source, at + ".address", "must be one address, got '" + address + "'");
        String bind = h.hasPath("bind") ? h.getString("bind").strip() : "";
        require(bind.isEmpty() || NO_SPACE.matcher(bind).matches(), source, at + ".bind", "must be one address, got '" + bind + "'");
        require(h.hasPath("roles"), source, at + ".roles", "must be set, e.g. roles { prefill = 1 }");
        Map<DeployNode.Role, Integer> roles = counts(h, "roles", true, at, source);
        require(!roles.isEmpty(), source, at + ".roles", "must give at least one node a count above 0");
        Map<DeployNode.Role, Integer> planner = h.hasPath("planner") ? counts(h, "planner", false, at, source) : Map.of();
        // a host's ports and ssh blocks override only the keys they name
        Ports ports = portDefaults;
        if (h.hasPath("ports")) {
            ports = ports(h.getConfig("ports").withFallback(ConfigFactory.parseMap(Map.of("http", portDefaults.http(),
                    "metrics", portDefaults.metrics(), "kv", portDefaults.kv()))), at + ".ports", source);
        }
        SshSettings ssh = sshDefaults;
        if (h.hasPath("ssh")) {
            Config own = h.getConfig("ssh");
            ssh = ssh(own.withFallback(ConfigFactory.parseMap(Map.of("user", sshDefaults.user(), "port", sshDefaults.port(),
                    "identity-file", sshDefaults.identityFile(), "options", sshDefaults.options()))), at + ".ssh", source);
        }
        return new Host(i, address, bind, roles, ports, ssh, planner);
    }

    /** The node counts by role of the host's block {@code key} (roles, planner); only counts above 0. */
    private static Map<DeployNode.Role, Integer> counts(Config h, String key, boolean router, String at, Path source) {
        Map<DeployNode.Role, Integer> counts = new EnumMap<>(DeployNode.Role.class);
        for (Map.Entry<String, ConfigValue> e : h.getObject(key).entrySet()) {
            String name = at + "." + key + "." + e.getKey();
            DeployNode.Role role = DeployNode.Role.named(e.getKey());
            require(role != null && (router || role != DeployNode.Role.ROUTER), source, name,
                    router ? "is not a role (router, prefill, decode, worker)" : "is not a role the planner starts (prefill, decode, worker)");
            require(e.getValue().valueType() == ConfigValueType.NUMBER, source, name,
                    "must be a count, got " + e.getValue().render());
            int count = ((Number) e.getValue().unwrapped()).intValue();
            int max = role == DeployNode.Role.ROUTER ? 1 : MAX_NODES_PER_ROLE;
            require(count >= 0 && count <= max && count == ((Number) e.getValue().unwrapped()).doubleValue(), source,
                    name, "must be 0 to " + max + ", got " + e.getValue().render());
            if (count > 0) {
                counts.put(role, count);
            }
        }
        return counts;
    }

    private static SshSettings ssh(Config s, String at, Path source) {
        String user = s.getString("user").strip();
        require(user.isEmpty() || NO_SPACE.matcher(user).matches(), source, at + ".user", "must be one word, got '" + user + "'");
        int port = port(s, "port", at, source);
        String identity = s.getString("identity-file").strip();
        require(identity.isEmpty() || Files.isRegularFile(Path.of(identity)), source, at + ".identity-file",
                "no such file on this machine: " + identity);
        List<String> options = s.getStringList("options");
        for (String o : options) {
            require(o.matches("[A-Za-z][A-Za-z0-9]*[= ].+"), source, at + ".options",
                    "each option must be NAME=VALUE as for ssh -o, got '" + o + "'");
        }
        return new SshSettings(user, port, identity, List.copyOf(options));
    }

    private static Ports ports(Config p, String at, Path source) {
        return new Ports(port(p, "http", at, source), port(p, "metrics", at, source), port(p, "kv", at, source));
    }

    private static int port(Config c, String key, Path source) {
        return port(c, key, "", source);
    }

    private static int port(Config c, String key, String at, Path source) {
        int p = c.getInt(key);
        String name = at.isEmpty() ? key : at + "." + key;
        require(p >= 1 && p <= 65535, source, name, "must be a port from 1 to 65535, got " + p);
        return p;
    }

    private static Duration positive(Config c, String key, Path source) {
        Duration d = c.getDuration(key);
        require(!d.isNegative() && !d.isZero(), source, key, "must be positive, got " + d);
        return d;
    }

    private static void checkRoles(Inventory inventory) {
        Map<DeployNode.Role, Integer> totals = new EnumMap<>(DeployNode.Role.class);
        for (Host h : inventory.hosts) {
            h.roles().forEach((role, n) -> totals.merge(role, n, Integer::sum));
        }
        int routers = totals.getOrDefault(DeployNode.Role.ROUTER, 0);
        require(routers == 1, inventory.source, "hosts", "must give exactly one host roles { router = 1 }, found " + routers);
        int prefill = totals.getOrDefault(DeployNode.Role.PREFILL, 0);
        int decode = totals.getOrDefault(DeployNode.Role.DECODE, 0);
        int worker = totals.getOrDefault(DeployNode.Role.WORKER, 0);
        require((prefill > 0) == (decode > 0), inventory.source, "hosts",
                "need prefill and decode nodes together, found " + prefill + " prefill and " + decode + " decode");
        require(prefill > 0 || worker > 0, inventory.source, "hosts",
                "need serving nodes: prefill and decode, or worker");
    }

    /** Two node processes on one address must not share a port (TCP or UDP; the check does not tell them apart). */
    private static void checkPorts(Inventory inventory) {
        Map<String, String> taken = new HashMap<>();
        List<DeployNode> all = new ArrayList<>(inventory.nodes());
        all.addAll(inventory.plannerSlots());
        for (DeployNode n : all) {
            for (Map.Entry<String, Integer> p : n.ports().entrySet()) {
                String key = n.host().address() + ":" + p.getValue();
                String previous = taken.putIfAbsent(key, n.id() + "'s " + p.getKey() + " port");
                require(previous == null, inventory.source, "hosts[" + n.host().index() + "].ports",
                        n.id() + "'s " + p.getKey() + " port " + key + " is also " + previous + " (change the host's ports or"
                                + " cluster-port)");
                require(p.getValue() <= 65535, inventory.source, "hosts[" + n.host().index() + "].ports",
                        n.id() + "'s " + p.getKey() + " port would be " + p.getValue() + ", above 65535");
            }
        }
    }

    /** Rejects keys the defaults do not have (typos), naming them with their path and the keys known there. */
    private static void checkKeys(ConfigObject given, ConfigObject known, String at, Path source) {
        for (Map.Entry<String, ConfigValue> e : given.entrySet()) {
            String path = at.isEmpty() ? e.getKey() : at + "." + e.getKey();
            if (at.isEmpty() && e.getKey().equals("hosts")) {
                checkHosts(e.getValue(), known, source);
                continue;
            }
            if (at.isEmpty() && e.getKey().equals("environment")) {
                continue;
            }
            ConfigValue k = known.get(e.getKey());
            if (k == null) {
                throw unknown(source, path, known.keySet());
            }
            if (k.valueType() == ConfigValueType.OBJECT && e.getValue().valueType() == ConfigValueType.OBJECT) {
                checkKeys((ConfigObject) e.getValue(), (ConfigObject) k, path, source);
            }
        }
    }

    private static void checkHosts(ConfigValue hosts, ConfigObject known, Path source) {
        if (hosts.valueType() != ConfigValueType.LIST) {
            throw new InventoryException("inventory " + source + ": hosts must be a list of hosts [ { address = ..., roles"
                    + " { ... } }, ... ]");
        }
        List<?> list = (List<?>) hosts;
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof ConfigObject host)) {
                throw new InventoryException("inventory " + source + ": hosts[" + i + "] must be an object { address = ..."
                        + ", roles { ... } }");
            }
            String at = "hosts[" + i + "]";
            for (Map.Entry<String, ConfigValue> e : host.entrySet()) {
                if (!HOST_KEYS.contains(e.getKey())) {
                    throw unknown(source, at + "." + e.getKey(), HOST_KEYS);
                }
                if ((e.getKey().equals("ssh") || e.getKey().equals("ports"))
                        && e.getValue().valueType() == ConfigValueType.OBJECT) {
                    checkKeys((ConfigObject) e.getValue(), (ConfigObject) known.get(e.getKey()), at + "." + e.getKey(), source);
                }
            }
        }
    }

    private static InventoryException unknown(Path source, String path, Set<String> known) {
        return new InventoryException("inventory " + source + ": unknown key '" + path + "' (known here: "
                + String.join(", ", new TreeSet<>(known)) + ")");
    }

    private static void require(boolean ok, Path source, String key, String message) {
        if (!ok) {
            throw new InventoryException("inventory " + source + ": " + key + " " + message);
        }
    }
}
