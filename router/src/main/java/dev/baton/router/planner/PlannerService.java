package dev.baton.router.planner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.planner.CapacityModel;
import dev.baton.planner.Decision;
import dev.baton.planner.DecisionJson;
import dev.baton.planner.Mode;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.Observation;
import dev.baton.planner.Planner;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.PlannerState;
import dev.baton.planner.Pool;
import dev.baton.planner.RequestTrace;
import dev.baton.router.api.RequestObserver;
import dev.baton.router.cluster.NodeView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SLO planner in the router (docs/design.md §9): once per {@code baton.planner.interval} it takes the
 * interval's requests from the API's observer and the pools from the cluster view, calls
 * {@link Planner#tick}, logs the record as one JSON line, keeps it for {@code GET /v1/planner}, updates the
 * {@code baton.planner.*} meters and, in {@code act} mode, starts, drains and gives up nodes through the
 * connector. Scale-down drains the pool's ready node with the least work (requests running, waiting and
 * in flight): it finishes its requests before it leaves.
 *
 * <p>Ticks run on one thread of their own (a connector may block on ssh or the API server); the view and
 * meters are read from any thread.
 */
public final class PlannerService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PlannerService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NODES = "Nodes per pool: desired (by the load), target (after hysteresis), ready, pending, draining";
    private static final String CORRECTION = "Observed over profiled latency, per phase";

    private final PlannerSettings settings;
    private final CapacityModel profile;
    private final Supplier<List<NodeView>> nodes;
    private final BiPredicate<String, String> drain;
    private final NodeConnector connector;
    private final IntervalRecorder recorder;
    private final ScheduledExecutorService ticker;
    private final Counter actionsFailed;
    private final MeterRegistry registry;
    private PlannerState state;
    private volatile long lastTickNanos;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private boolean began; // the ticker thread's own
    private final Map<String, long[]> nodeTimes = new java.util.HashMap<>(); // under this' lock (tick)
    private volatile Decision last;
    private volatile ObjectNode lastRecord;
    private volatile List<String> lastActions = List.of();

    /**
     * @param nodes     the cluster as the router sees it ({@code ClusterDispatcher::nodes})
     * @param drain     tells a node to drain through the cluster ({@code ClusterDispatcher::drain}: node id, reason)
     * @param connector starts and stops nodes in {@code act} mode; null otherwise
     * @param registry  where the {@code baton.planner.*} meters go
     */
    public PlannerService(PlannerSettings settings, CapacityModel profile, Supplier<List<NodeView>> nodes,
            BiPredicate<String, String> drain, NodeConnector connector, MeterRegistry registry) {
        if (settings.mode() == Mode.OFF) {
            throw new IllegalArgumentException("the planner is off");
        }
        if (settings.mode() == Mode.ACT && connector == null) {
            throw new IllegalArgumentException("act mode needs a connector");
        }
        this.settings = settings;
        this.profile = profile;
        this.nodes = nodes;
        this.drain = drain;
        this.connector = settings.mode() == Mode.ACT ? connector : null;
        this.registry = registry;
        this.lastTickNanos = System.nanoTime();
        this.recorder = new IntervalRecorder(lastTickNanos, settings.traceFile() != null);
        this.state = PlannerState.initial(settings);
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "baton-planner");
            t.setDaemon(true);
            return t;
        });
        this.actionsFailed = Counter.builder("baton.planner.action.failures")
                .description("Connector calls (start, drain, give up) that failed").register(registry);
        registerGauges(registry);
    }

    /** Sees every request of the API (pass to the HTTP server). */
    public RequestObserver observer() {
        return recorder;
    }

    /** Starts ticking every interval. */
    public PlannerService start() {
        return start(() -> true);
    }

    /**
     * Starts ticking every interval once {@code clusterReady} first holds (until then the nodes {@code bin/baton up}
     * or a deployment started are still joining, and a pool below its minimum would be started twice).
     */
    public PlannerService start(java.util.function.BooleanSupplier clusterReady) {
        long ms = settings.interval().toMillis();
        ticker.scheduleAtFixedRate(() -> {
            if (!began) {
                if (!clusterReady.getAsBoolean()) {
                    recorder.take(System.currentTimeMillis(), 1, Map.of());
                    recorder.takeTrace();
                    lastTickNanos = System.nanoTime();
                    return;
                }
                began = true;
                LOG.info("planner: the cluster is ready; deciding every {} s from now", ms / 1000.0);
            }
            safeTick();
        }, ms, ms, TimeUnit.MILLISECONDS);
        LOG.info("planner: mode {}, every {} s, objectives TTFT p{} <= {} ms, ITL p{} <= {} ms, profile {}{}",
                settings.mode().name().toLowerCase(Locale.ROOT), ms / 1000.0, fmt(settings.objectives().percentile()),
                fmt(settings.objectives().ttftMs()), fmt(settings.objectives().percentile()), fmt(settings.objectives().itlMs()),
                settings.profile(), connector != null ? ", connector " + connector.name() : "");
        return this;
    }

    private void safeTick() {
        try {
            tick();
        } catch (RuntimeException e) {
            LOG.warn("planner: tick failed: {}", e.toString(), e);
        }
    }

    /** One interval now (the scheduled ticks call it too): observe, decide, explain, act. */
    public synchronized Decision tick() {
        long now = System.nanoTime();
        double seconds = Math.max(1e-3, (now - lastTickNanos) / 1e9);
        lastTickNanos = now;
        List<NodeView> view = nodes.get();
        Observation obs = recorder.take(System.currentTimeMillis(), seconds, pools(view, nodeTimes));
        Decision d = Planner.tick(obs, profile, settings, state);
        state = d.state();
        ObjectNode record = DecisionJson.of(obs, d);
        record.put("mode", settings.mode().name().toLowerCase(Locale.ROOT));
        List<String> actions = connector != null ? act(d, view) : List.of();
        ArrayNode a = record.putArray("actions");
        actions.forEach(a::add);
        last = d;
        lastRecord = record;
        lastActions = actions;
        LOG.info("planner {}", record);
        writeTrace();
        return d;
    }

    private List<String> act(Decision d, List<NodeView> view) {
        List<String> done = new ArrayList<>();
        Set<String> ready = new HashSet<>();
        for (NodeView n : view) {
            if (ready(n)) {
                ready.add(n.nodeId());
            }
        }
        for (Map.Entry<Pool, Decision.PoolDecision> e : d.pools().entrySet()) {
            Pool pool = e.getKey();
            Decision.PoolDecision p = e.getValue();
            if (p.abandoned() > 0) {
                run(done, "give up " + p.abandoned() + " " + pool.role() + " node(s) not ready",
                        () -> connector.abandon(pool, p.abandoned(), Set.copyOf(ready)));
            }
            if (p.start() > 0) {
                run(done, "start " + p.start() + " " + pool.role() + " node(s)", () -> connector.start(pool, p.start()));
            }
            if (p.drain() > 0) {
                for (NodeView n : leastBusy(view, pool, p.drain())) {
                    run(done, "drain " + n.nodeId(), () -> connector.drain(pool, n.nodeId(),
                            () -> drain.test(n.nodeId(), "the planner scales the " + pool.role() + " pool down")));
                }
            }
        }
        return done;
    }

    private interface Action {
        void run() throws Exception;
    }

    private void run(List<String> done, String what, Action action) {
        try {
            action.run();
            done.add(what);
            LOG.info("planner: {}", what);
            Counter.builder("baton.planner.actions").description("Connector calls made").tag("action", what.split(" ")[0])
                    .register(registry).increment();
        } catch (Exception e) {
            actionsFailed.increment();
            done.add(what + " failed: " + e.getMessage());
            LOG.warn("planner: {} failed through the {} connector: {}", what, connector.name(), e.getMessage(), e);
        }
    }

    /** The pool's {@code count} ready nodes with the least work: requests running, waiting and in flight. */
    static List<NodeView> leastBusy(List<NodeView> view, Pool pool, int count) {
        return view.stream().filter(n -> pool.role().equals(n.role()) && ready(n))
                .sorted(Comparator.comparingInt((NodeView n) -> n.running() + n.waiting() + n.inFlight())
                        .thenComparingLong(NodeView::generatedTokens).thenComparing(NodeView::nodeId, Comparator.reverseOrder()))
                .limit(count).toList();
    }

    /** Serving: reachable, its KV pool reported, not draining, and its engine loop not stuck (a stuck node is not ready). */
    private static boolean ready(NodeView n) {
        return n.serving();
    }

    /** The pools as the router sees them, the queue-to-compute ratio over the whole of each node's life. */
    static Map<Pool, Observation.PoolObservation> pools(List<NodeView> view) {
        return pools(view, new java.util.HashMap<>());
    }

    /**
     * The pools as the router sees them. The queue-to-compute ratio of a pool is the time its nodes' requests
     * waited for admission over the time the nodes computed, both since {@code times} (node id to the queue and
     * compute nanoseconds of its previous report), which is then brought up to date.
     */
    static Map<Pool, Observation.PoolObservation> pools(List<NodeView> view, Map<String, long[]> times) {
        Map<Pool, int[]> counts = new EnumMap<>(Pool.class);
        Map<Pool, long[]> blocks = new EnumMap<>(Pool.class);
        Map<Pool, long[]> queueCompute = new EnumMap<>(Pool.class);
        Set<String> seen = new HashSet<>();
        for (NodeView n : view) {
            Pool p = Pool.ofRole(n.role());
            if (p == null) {
                continue;
            }
            seen.add(n.nodeId());
            long[] before = times.getOrDefault(n.nodeId(), new long[2]);
            long[] qc = queueCompute.computeIfAbsent(p, k -> new long[2]);
            qc[0] += Math.max(0, n.queueNanos() - before[0]);
            qc[1] += Math.max(0, n.computeNanos() - before[1]);
            times.put(n.nodeId(), new long[] {n.queueNanos(), n.computeNanos()});
            int[] c = counts.computeIfAbsent(p, k -> new int[5]);
            if (n.draining()) {
                c[2]++;
            } else if (ready(n)) {
                c[0]++;
            } else {
                c[1]++;
            }
            c[3] += n.running();
            c[4] += n.waiting();
            long[] b = blocks.computeIfAbsent(p, k -> new long[2]);
            b[0] += Math.max(0, n.totalBlocks() - n.freeBlocks());
            b[1] += n.totalBlocks();
        }
        times.keySet().retainAll(seen);
        Map<Pool, Observation.PoolObservation> out = new EnumMap<>(Pool.class);
        for (Map.Entry<Pool, int[]> e : counts.entrySet()) {
            int[] c = e.getValue();
            long[] b = blocks.get(e.getKey());
            long[] qc = queueCompute.get(e.getKey());
            double ratio = qc[1] > 0 ? (double) qc[0] / qc[1] : Double.NaN; // nothing computed: unknown
            out.put(e.getKey(), new Observation.PoolObservation(c[0], c[1], c[2], c[3], c[4], ratio,
                    b[1] > 0 ? (double) b[0] / b[1] : 0));
        }
        return out;
    }

    private void writeTrace() {
        List<RequestTrace.Entry> entries = recorder.takeTrace();
        if (settings.traceFile() == null || entries.isEmpty()) {
            return;
        }
        try {
            if (settings.traceFile().toAbsolutePath().getParent() != null) {
                Files.createDirectories(settings.traceFile().toAbsolutePath().getParent());
            }
            try (Writer w = Files.newBufferedWriter(settings.traceFile(), StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                for (RequestTrace.Entry e : entries) {
                    w.write(e.json());
                    w.write('\n');
                }
            }
        } catch (IOException e) {
            LOG.warn("planner: cannot append to the trace file {}: {}", settings.traceFile(), e.toString());
        }
    }

    /** The body of {@code GET /v1/planner}: the settings in short and the last tick's record (null before the first). */
    public JsonNode view() {
        ObjectNode root = JSON.createObjectNode();
        root.put("mode", settings.mode().name().toLowerCase(Locale.ROOT));
        root.put("connector", connector != null ? connector.name() : null);
        root.put("intervalSeconds", settings.interval().toMillis() / 1000.0);
        ObjectNode o = root.putObject("objectives");
        o.put("ttftMs", settings.objectives().ttftMs());
        o.put("itlMs", settings.objectives().itlMs());
        o.put("percentile", settings.objectives().percentile());
        ObjectNode b = root.putObject("bounds");
        for (Pool p : Pool.values()) {
            ObjectNode n = b.putObject(p.role());
            n.put("min", settings.bounds().get(p).min());
            n.put("max", settings.bounds().get(p).max());
        }
        root.put("nodeBudget", settings.nodeBudget());
        root.put("profile", String.valueOf(settings.profile()));
        ObjectNode r = lastRecord;
        if (r == null) {
            root.putNull("last");
        } else {
            root.set("last", r);
        }
        return root;
    }

    private void registerGauges(MeterRegistry registry) {
        for (Pool p : Pool.values()) {
            if (!settings.bounds().get(p).planned()) {
                continue;
            }
            gauge(registry, "baton.planner.nodes", NODES,
                    () -> pool(p, Decision.PoolDecision::desired), "pool", p.role(), "state", "desired");
            gauge(registry, "baton.planner.nodes", NODES, () -> pool(p, Decision.PoolDecision::target), "pool", p.role(), "state", "target");
            gauge(registry, "baton.planner.nodes", NODES, () -> pool(p, Decision.PoolDecision::ready), "pool", p.role(), "state", "ready");
            gauge(registry, "baton.planner.nodes", NODES, () -> pool(p, Decision.PoolDecision::pending), "pool", p.role(), "state", "pending");
            gauge(registry, "baton.planner.nodes", NODES, () -> pool(p, Decision.PoolDecision::draining), "pool", p.role(), "state", "draining");
            gauge(registry, "baton.planner.required.nodes", "Nodes the predicted load needs, fractional",
                    () -> poolD(p, Decision.PoolDecision::required), "pool", p.role());
            if (p != Pool.DECODE) {
                gauge(registry, "baton.planner.estimated.ttft.seconds", "TTFT at the objective's percentile expected at the target",
                        () -> poolD(p, Decision.PoolDecision::estimatedTtftMs) / 1000, "pool", p.role());
            }
            if (p != Pool.PREFILL) {
                gauge(registry, "baton.planner.estimated.itl.seconds", "ITL at the objective's percentile expected at the target",
                        () -> poolD(p, Decision.PoolDecision::estimatedItlMs) / 1000, "pool", p.role());
            }
        }
        gauge(registry, "baton.planner.predicted.requests", "Requests per second predicted for the next interval",
                () -> last == null ? 0 : last.predicted().requestRate());
        gauge(registry, "baton.planner.predicted.prompt.tokens", "Effective prompt tokens per second predicted",
                () -> last == null ? 0 : last.predicted().effectivePromptTokensPerSecond());
        gauge(registry, "baton.planner.predicted.output.tokens", "Output tokens per second predicted",
                () -> last == null ? 0 : last.predicted().outputTokensPerSecond());
        gauge(registry, "baton.planner.correction", CORRECTION, () -> last == null ? 1
                : last.capacity().prefillFactor(), "phase", "prefill");
        gauge(registry, "baton.planner.correction", CORRECTION, () -> last == null ? 1 : last.capacity().decodeFactor(), "phase", "decode");
    }

    private double pool(Pool p, java.util.function.ToIntFunction<Decision.PoolDecision> f) {
        Decision d = last;
        Decision.PoolDecision pd = d == null ? null : d.pools().get(p);
        return pd == null ? Double.NaN : f.applyAsInt(pd);
    }

    private double poolD(Pool p, java.util.function.ToDoubleFunction<Decision.PoolDecision> f) {
        Decision d = last;
        Decision.PoolDecision pd = d == null ? null : d.pools().get(p);
        return pd == null ? Double.NaN : f.applyAsDouble(pd);
    }

    private static void gauge(MeterRegistry registry, String name, String description, Supplier<Number> value, String... tags) {
        Gauge.Builder<Supplier<Number>> b = Gauge.builder(name, value).tags(tags).strongReference(true);
        if (description != null) {
            b.description(description);
        }
        b.register(registry);
    }

    /** The last decision, null before the first tick. */
    public Decision last() {
        return last;
    }

    /** The actions of the last tick, with failures. */
    public List<String> lastActions() {
        return lastActions;
    }

    /** Stops ticking (a tick under way finishes first) and closes the connector; may be called more than once. */
    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        ticker.shutdown();
        try {
            ticker.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ticker.shutdownNow();
        writeTrace();
        if (connector != null) {
            try {
                connector.close();
            } catch (Exception e) {
                LOG.warn("planner: closing the {} connector: {}", connector.name(), e.toString());
            }
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
