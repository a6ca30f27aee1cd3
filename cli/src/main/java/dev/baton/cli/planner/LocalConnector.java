package dev.baton.cli.planner;

import static dev.baton.cli.planner.ConnectorConfig.key;

import com.typesafe.config.Config;
import dev.baton.cli.NodeLauncher;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.Pool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code connector = local}: starts node processes on the router's host as {@code bin/baton up} does
 * ({@link NodeLauncher}), each with the router's seeds, address, model and configuration file, its own free ports
 * and a node id {@code <role>-p<N>} ({@code p} for planner: apart from up's {@code prefill-1}; N the first number
 * with no log in the run directory yet, so a restarted router does not reuse a running node's id). Each started
 * pid is appended to the run directory's {@code pids} file, so {@code bin/baton down} stops the planner's nodes
 * with the rest of the cluster.
 *
 * <p>A drained node is told through the cluster and exits by itself; this connector only reaps it, and kills it
 * only when it is still alive {@link #KILL_MARGIN} past {@code baton.node.drain-timeout}. Not thread-safe: the
 * planner calls it from one thread.
 */
public final class LocalConnector implements NodeConnector {

    private static final Logger LOG = LoggerFactory.getLogger(LocalConnector.class);
    private static final String PATH = "baton.planner.local";
    private static final Pattern HEAP = Pattern.compile("[1-9][0-9]*[kKmMgG]?");
    /** How long past its drain timeout a draining node may take to leave and exit before it is killed. */
    static final Duration KILL_MARGIN = Duration.ofSeconds(30);

    /**
     * {@code baton.planner.local}, checked.
     *
     * @param heap        JVM heap per node ({@code -Xmx} value)
     * @param threads     compute threads per node, 0 for the router's {@code --threads} (or all cores)
     * @param clusterPort first Pekko port tried
     * @param metricsPort first metrics port tried
     * @param kvPort      first KV port tried (each prefill or decode node takes two)
     * @param runDir      logs and the pids file
     * @param drainTimeout the nodes' {@code baton.node.drain-timeout}
     */
    public record Settings(String heap, int threads, int clusterPort, int metricsPort, int kvPort, Path runDir,
            Duration drainTimeout) {

        /** Reads {@code baton.planner.local} from the router's whole configuration. */
        public static Settings from(Config root, ConnectorContext ctx) {
            Config c = key(PATH, () -> root.getConfig(PATH));
            String heap = key(PATH + ".heap", () -> {
                String h = c.getString("heap").strip();
                if (!HEAP.matcher(h).matches()) {
                    throw new IllegalArgumentException("must be a JVM heap size such as 384m or 4g, got '" + h + "'");
                }
                return h;
            });
            int threads = key(PATH + ".threads", () -> {
                int t = c.getInt("threads");
                if (t < 0 || t > 4096) {
                    throw new IllegalArgumentException("must be 0 (all cores) to 4096, got " + t);
                }
                return t;
            });
            int cluster = port(c, "cluster-port");
            int metrics = port(c, "metrics-port");
            int kv = port(c, "kv-port");
            Path runDir = key(PATH + ".run-dir", () -> {
                String d = c.getString("run-dir").strip();
                return d.isEmpty() ? ctx.home().resolve("run/current") : Path.of(d).toAbsolutePath();
            });
            Duration drain = root.hasPath("baton.node.drain-timeout")
                    ? key("baton.node.drain-timeout", () -> root.getDuration("baton.node.drain-timeout")) : Duration.ofSeconds(60);
            return new Settings(heap, threads, cluster, metrics, kv, runDir, drain);
        }

        private static int port(Config c, String name) {
            return key(PATH + "." + name, () -> {
                int p = c.getInt(name);
                if (p < 1 || p > 65535) {
                    throw new IllegalArgumentException("must be a port from 1 to 65535, got " + p);
                }
                return p;
            });
        }
    }

    /** Starts one node process; {@link NodeLauncher#start} outside tests. */
    interface Launcher {
        Process start(Path log, String heap, List<String> args) throws IOException;
    }

    /** A node this connector started, in start order. */
    record Started(Pool pool, String nodeId, Process process) {}

    private final Settings settings;
    private final ConnectorContext context;
    private final PortProbe ports;
    private final Launcher launcher;
    private final List<Started> started = new ArrayList<>();
    private final Set<String> usedIds = new HashSet<>();

    LocalConnector(Settings settings, ConnectorContext context, PortProbe ports, Launcher launcher) {
        this.settings = settings;
        this.context = context;
        this.ports = ports;
        this.launcher = launcher;
    }

    /** The connector for {@code baton.planner.local} of {@code root}; refuses a bad key or an unusable run directory. */
    public static LocalConnector create(Config root, ConnectorContext context) {
        Settings s = Settings.from(root, context);
        key(PATH + ".run-dir", () -> {
            try {
                Files.createDirectories(s.runDir());
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot create " + s.runDir() + ": " + e, e);
            }
            if (!Files.isWritable(s.runDir())) {
                throw new IllegalArgumentException(s.runDir() + " is not writable");
            }
            return s.runDir();
        });
        return new LocalConnector(s, context, PortProbe.system(), NodeLauncher::start);
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public void start(Pool pool, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            String id = nextNodeId(pool);
            List<String> args = arguments(pool, id);
            Process p = launcher.start(settings.runDir().resolve(id + ".log"), settings.heap(), args);
            started.add(new Started(pool, id, p));
            p.onExit().thenAccept(exited -> LOG.info("planner: {} (pid {}) exited with {}", id, exited.pid(), exited.exitValue()));
            Files.writeString(settings.runDir().resolve("pids"), p.pid() + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            LOG.info("planner: started {} (pid {}), log {}", id, p.pid(), settings.runDir().resolve(id + ".log"));
        }
    }

    /**
     * The command line of a new node: role, ports, node id, the router's seeds, address, model and configuration,
     * threads. Takes the ports (they count as handed out from here on).
     */
    List<String> arguments(Pool pool, String id) {
        List<String> a = new ArrayList<>(List.of(pool.role(), "--node-id", id,
                "--cluster-port", Integer.toString(ports.tcp(settings.clusterPort(), id + "'s --cluster-port")),
                "--metrics-port", Integer.toString(ports.tcp(settings.metricsPort(), id + "'s --metrics-port"))));
        if (pool != Pool.WORKER) {
            int kv = ports.udpPair(settings.kvPort(), id + "'s --kv-port and --kv-reply-port");
            a.addAll(List.of("--kv-port", Integer.toString(kv), "--kv-reply-port", Integer.toString(kv + 1)));
        }
        a.addAll(context.nodeArguments());
        Integer threads = settings.threads() > 0 ? Integer.valueOf(settings.threads()) : context.threads();
        if (threads != null) {
            a.addAll(List.of("--threads", threads.toString()));
        }
        return a;
    }

    /** {@code <role>-p<N>}: the lowest N not used in this run and with no log in the run directory. */
    String nextNodeId(Pool pool) {
        for (int n = 1; n < 100_000; n++) {
            String id = pool.role() + "-p" + n;
            if (!usedIds.contains(id) && !Files.exists(settings.runDir().resolve(id + ".log"))) {
                usedIds.add(id);
                return id;
            }
        }
        throw new IllegalStateException("no free node id for " + pool.role() + " in " + settings.runDir());
    }

    @Override
    public void drain(Pool pool, String nodeId, Runnable viaCluster) {
        viaCluster.run();
        for (Started s : List.copyOf(started)) {
            if (s.nodeId().equals(nodeId)) {
                started.remove(s);
                reapAfterDrain(s);
            }
        }
    }

    /**
     * Waits beside the caller for a draining node of ours to exit; one still alive past its drain timeout and
     * {@link #KILL_MARGIN} is killed (it no longer serves: the timeout ended its requests).
     */
    private void reapAfterDrain(Started s) {
        long limitMs = settings.drainTimeout().plus(KILL_MARGIN).toMillis();
        s.process().onExit().orTimeout(limitMs, TimeUnit.MILLISECONDS).exceptionally(timeout -> {
            if (s.process().isAlive()) {
                LOG.warn("planner: {} (pid {}) still runs {} ms after it was told to drain; killing it", s.nodeId(),
                        s.process().pid(), limitMs);
                s.process().destroyForcibly();
            }
            return s.process();
        });
    }

    @Override
    public void abandon(Pool pool, int count, Set<String> readyNodeIds) {
        int stopped = 0;
        for (Started s : List.copyOf(started)) {
            if (stopped == count) {
                break;
            }
            if (s.pool() == pool && !readyNodeIds.contains(s.nodeId())) {
                started.remove(s);
                if (s.process().isAlive()) {
                    LOG.info("planner: stopping {} (pid {}): not ready in time", s.nodeId(), s.process().pid());
                    s.process().destroy();
                }
                stopped++;
            }
        }
    }

    /** The nodes this connector started and still counts (not drained or abandoned), oldest first. */
    List<Started> started() {
        return List.copyOf(started);
    }

    Settings settings() {
        return settings;
    }
}
