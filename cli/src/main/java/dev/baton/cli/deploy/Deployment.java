package dev.baton.cli.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;

/**
 * The operations of {@code bin/baton deploy} on the hosts of an {@link Inventory}: start (the router first, the seed),
 * status, stop (the nodes first, the router last) and rolling restart. Every remote step is a script of
 * {@link NodeScripts} run over {@link Ssh}; readiness is each process's {@code GET /ready} over HTTP from this machine.
 *
 * <p>Progress goes to {@code err}, results (node table, cluster summary) to {@code out}. Failures are
 * {@link DeployException}s whose message names the host and node (and carries the tail of a node's log when it
 * exited). Not thread-safe; one command uses one instance.
 */
final class Deployment {

    /** The ssh timeout of one short script (preflight, states, start, tail); stop adds the stop grace. */
    private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(60);
    /** How often a node's /ready is asked while waiting; its process is checked over ssh every 4th time. */
    private static final Duration POLL = Duration.ofMillis(500);
    private static final int LOG_TAIL_LINES = 40;

    /** A node's state as {@code status} shows it. */
    enum State {
        /** the process runs and /ready answers 200 */
        READY,
        /** the process runs; /ready does not answer 200 (starting, draining, or not serving) */
        NOT_READY,
        /** no process */
        STOPPED,
        /** its host could not be asked over ssh */
        UNKNOWN;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** One row of {@code status}. */
    record NodeStatus(DeployNode node, State state, String pid, String detail) {
    }

    private final Inventory inventory;
    private final PrintWriter out;
    private final PrintWriter err;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ObjectMapper json = new ObjectMapper();

    Deployment(Inventory inventory, PrintWriter out, PrintWriter err) {
        this.inventory = inventory;
        this.out = out;
        this.err = err;
    }

    // ---- up

    /**
     * Starts the whole cluster: checks every host, refuses if any node runs already, starts the router (the seed)
     * and waits until it answers HTTP (its /ready says 503 until nodes join), starts every other node, and waits
     * until every node and the router answer /ready 200. On a failure it stops what it started and throws.
     */
    void up() {
        List<DeployNode> nodes = inventory.nodes();
        preflight();
        List<String> running = new ArrayList<>();
        for (NodeStatus s : processStates(nodes)) {
            if (s.state() == State.UNKNOWN) {
                throw new DeployException(s.detail());
            }
            if (!s.pid().isEmpty()) {
                running.add(s.node().id() + " on " + s.node().host().address() + " (pid " + s.pid() + ")");
            }
        }
        if (!running.isEmpty()) {
            throw new DeployException("already running: " + String.join(", ", running)
                    + "; use bin/baton deploy status, down or restart");
        }
        List<DeployNode> started = new ArrayList<>();
        try {
            DeployNode router = nodes.getFirst();
            start(router, List.of());
            started.add(router);
            waitListening(router);
            for (DeployNode n : nodes.subList(1, nodes.size())) {
                start(n, List.of());
                started.add(n);
            }
            waitReady(nodes);
        } catch (DeployException e) {
            err.println("deploy: start-up failed; stopping the " + started.size() + " node(s) started");
            err.flush();
            try {
                stop(started);
            } catch (DeployException stopFailed) {
                e.addSuppressed(stopFailed);
                err.println("deploy: stopping them failed too: " + stopFailed.getMessage());
            }
            throw e;
        }
        out.println("deploy: " + nodes.size() + " node(s) ready; the API is at http://"
                + DeployNode.hostPort(inventory.routerHost().address(), nodes.getFirst().port()) + "/v1");
        printCluster();
    }

    // ---- status

    /** Prints every node's state and the router's cluster view; returns true when every node is ready. */
    boolean status() {
        List<NodeStatus> states = new ArrayList<>();
        for (NodeStatus s : processStates(inventory.nodes())) {
            if (s.state() == State.UNKNOWN || s.pid().isEmpty()) {
                states.add(s);
                continue;
            }
            String ready = readyAnswer(s.node());
            states.add(new NodeStatus(s.node(), ready.equals("200") ? State.READY : State.NOT_READY, s.pid(),
                    ready.equals("200") ? "" : "/ready: " + ready));
        }
        out.printf("%-24s %-8s %-22s %-8s %s%n", "NODE", "ROLE", "HOST", "PID", "STATE");
        for (NodeStatus s : states) {
            out.printf("%-24s %-8s %-22s %-8s %s%s%n", s.node().id(), s.node().role().command(),
                    s.node().host().address(), s.pid().isEmpty() ? "-" : s.pid(), s.state().label(),
                    s.detail().isEmpty() ? "" : " (" + s.detail() + ")");
        }
        boolean allReady = states.stream().allMatch(s -> s.state() == State.READY);
        if (states.getFirst().state() == State.READY || states.getFirst().state() == State.NOT_READY) {
            printCluster();
        }
        return allReady;
    }

    // ---- down

    /**
     * Stops every node (the serving nodes of all hosts at once, then the router), and the nodes the SLO planner started
     * in the hosts' planner slots; prints what each did.
     */
    void down() {
        List<DeployNode> nodes = new ArrayList<>(inventory.nodes());
        List<DeployNode> slots = inventory.plannerSlots();
        if (!slots.isEmpty()) {
            nodes.addAll(processStates(slots).stream().filter(s -> !s.pid().isEmpty()).map(NodeStatus::node).toList());
        }
        stop(nodes);
    }

    // ---- restart

    /**
     * Rolling restart: one node at a time (the serving nodes in inventory order, the router last), stop it, start
     * it, wait for its /ready and the router's, then the next. A node that was not running is started. The
     * restarted router joins the cluster through the nodes that run (its seeds are their addresses), so that it
     * does not form a cluster of its own.
     */
    void restart() {
        List<DeployNode> nodes = inventory.nodes();
        preflight();
        DeployNode router = nodes.getFirst();
        List<DeployNode> order = new ArrayList<>(nodes.subList(1, nodes.size()));
        order.add(router);
        for (DeployNode n : order) {
            err.println("deploy: restarting " + n.id() + " on " + n.host().address());
            err.flush();
            stop(List.of(n));
            List<String> seeds = n == router ? runningClusterAddresses(nodes.subList(1, nodes.size())) : List.of();
            start(n, seeds);
            waitReady(n == router ? List.of(n) : List.of(n, router));
        }
        out.println("deploy: restarted " + order.size() + " node(s), one at a time");
        printCluster();
    }

    // ---- steps

    /** The cluster addresses of those of {@code nodes} whose process runs. */
    private List<String> runningClusterAddresses(List<DeployNode> nodes) {
        return processStates(nodes).stream().filter(s -> !s.pid().isEmpty()).map(s -> s.node().clusterAddress()).toList();
    }

    /** Checks every host (in parallel); throws one exception naming every host's problems. */
    private void preflight() {
        Map<Inventory.Host, Callable<String>> checks = new LinkedHashMap<>();
        for (Inventory.Host h : inventory.hosts()) {
            checks.put(h, () -> {
                Ssh.Result r = Ssh.run(h, NodeScripts.preflight(inventory), SCRIPT_TIMEOUT);
                return r.ok() ? "" : r.stdout().strip().replace("\n", "; ") + r.stderr().strip();
            });
        }
        Map<Inventory.Host, String> failures = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        onHosts(checks, failures).forEach((h, result) -> {
            if (!result.isEmpty()) {
                problems.add(h.address() + ": " + result);
            }
        });
        problems.addAll(failures.values());
        if (!problems.isEmpty()) {
            throw new DeployException("hosts not ready for Baton:\n  " + String.join("\n  ", problems));
        }
    }

    /** Starts one node over ssh and reports its pid; {@code seeds} as for {@link DeployNode#arguments}. */
    void start(DeployNode node, List<String> seeds) {
        Ssh.Result r = Ssh.run(node.host(), NodeScripts.start(inventory, node, seeds), SCRIPT_TIMEOUT);
        if (r.exitCode() == NodeScripts.ALREADY_RUNNING) {
            throw new DeployException(node.id() + " on " + node.host().address() + " is already running (pid "
                    + r.stdout().strip() + ")");
        }
        if (!r.ok() || r.stdout().isBlank()) {
            throw new DeployException("starting " + node.id() + " on " + node.host().address() + " failed (exit "
                    + r.exitCode() + "): " + (r.stdout() + r.stderr()).strip());
        }
        err.println("deploy: started " + node.id() + " (" + node.role().command() + ") on " + node.host().address()
                + ", pid " + r.stdout().strip() + ", log " + inventory.effectiveRunDir() + "/" + node.id() + ".log");
        err.flush();
    }

    /**
     * Stops {@code nodes}: the serving nodes first (one ssh per host, hosts in parallel), the router last. Prints
     * each node's outcome; throws after trying every host if some host could not be reached.
     */
    void stop(List<DeployNode> nodes) {
        List<DeployNode> serving = nodes.stream().filter(n -> n.role() != DeployNode.Role.ROUTER).toList();
        List<DeployNode> routers = nodes.stream().filter(n -> n.role() == DeployNode.Role.ROUTER).toList();
        Map<Inventory.Host, String> failures = new LinkedHashMap<>();
        for (List<DeployNode> wave : List.of(serving, routers)) {
            Map<Inventory.Host, List<DeployNode>> byHost = byHost(wave);
            Map<Inventory.Host, Callable<String>> stops = new LinkedHashMap<>();
            byHost.forEach((h, hostNodes) -> stops.put(h, () -> Ssh.run(h, NodeScripts.stop(inventory, hostNodes),
                    SCRIPT_TIMEOUT.plus(inventory.stopGrace())).stdout()));
            onHosts(stops, failures).forEach((h, output) -> output.lines().filter(l -> !l.isBlank())
                    .forEach(l -> out.println("deploy: " + l.replaceFirst(" ", " on " + h.address() + ": "))));
            out.flush();
        }
        if (!failures.isEmpty()) {
            throw new DeployException(String.join("\n", failures.values()));
        }
    }

    /** Each node's process (pid or none) from its host's pid files; hosts asked in parallel. */
    List<NodeStatus> processStates(List<DeployNode> nodes) {
        Map<Inventory.Host, List<DeployNode>> byHost = byHost(nodes);
        Map<Inventory.Host, Callable<String>> asks = new LinkedHashMap<>();
        byHost.forEach((h, hostNodes) -> asks.put(h, () -> Ssh.run(h, NodeScripts.states(inventory, hostNodes),
                SCRIPT_TIMEOUT).stdout()));
        Map<Inventory.Host, String> errors = new HashMap<>();
        Map<Inventory.Host, String> answers = onHosts(asks, errors);
        List<NodeStatus> result = new ArrayList<>();
        for (DeployNode n : nodes) {
            if (errors.containsKey(n.host())) {
                result.add(new NodeStatus(n, State.UNKNOWN, "", errors.get(n.host())));
                continue;
            }
            String pid = answers.getOrDefault(n.host(), "").lines().filter(l -> l.startsWith(n.id() + " "))
                    .map(l -> l.substring(n.id().length() + 1).strip()).findFirst().orElse("-");
            result.add(new NodeStatus(n, pid.equals("-") ? State.STOPPED : State.NOT_READY, pid.equals("-") ? "" : pid, ""));
        }
        return result;
    }

    /** Waits until the router answers HTTP at all (its /ready is 503 until nodes join): proof that it started. */
    private void waitListening(DeployNode router) {
        waitFor(List.of(router), code -> !code.startsWith("no answer"));
    }

    /** Waits until every one of {@code nodes} answers /ready 200. */
    private void waitReady(List<DeployNode> nodes) {
        long t0 = System.nanoTime();
        waitFor(nodes, "200"::equals);
        err.printf("deploy: ready after %.1f s: %s%n", (System.nanoTime() - t0) / 1e9,
                String.join(", ", nodes.stream().map(DeployNode::id).toList()));
        err.flush();
    }

    /**
     * Polls each node's /ready until {@code done} accepts its answer, checking over ssh every 2 s that the nodes
     * still waited for are alive.
     *
     * @throws DeployException when a node's process exits (with the tail of its log) or the ready timeout passes
     */
    private void waitFor(List<DeployNode> nodes, Predicate<String> done) {
        List<DeployNode> waiting = new ArrayList<>(nodes);
        Map<DeployNode, String> last = new HashMap<>();
        long deadline = System.nanoTime() + inventory.readyTimeout().toNanos();
        for (int round = 0; !waiting.isEmpty(); round++) {
            for (DeployNode n : List.copyOf(waiting)) {
                String answer = readyAnswer(n);
                last.put(n, answer);
                if (done.test(answer)) {
                    waiting.remove(n);
                }
            }
            if (waiting.isEmpty()) {
                return;
            }
            if (round % 4 == 3) {
                for (NodeStatus s : processStates(waiting)) {
                    if (s.state() == State.UNKNOWN) {
                        throw new DeployException(s.detail());
                    }
                    if (s.state() == State.STOPPED) {
                        throw new DeployException(s.node().id() + " on " + s.node().host().address()
                                + " exited during start-up; the end of its log (" + logPath(s.node()) + "):\n"
                                + logTail(s.node()));
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                DeployNode n = waiting.getFirst();
                throw new DeployException(n.id() + " on " + n.host().address() + " was not ready after "
                        + inventory.readyTimeout().toSeconds() + " s (GET " + n.readyUri() + ": " + last.get(n)
                        + "); the end of its log (" + logPath(n) + "):\n" + logTail(n));
            }
            try {
                Thread.sleep(POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DeployException("interrupted while waiting for " + waiting.getFirst().id());
            }
        }
    }

    /** The HTTP status of the node's /ready as text ("200", "503"), or "no answer (...)". */
    private String readyAnswer(DeployNode node) {
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(node.readyUri()).timeout(Duration.ofSeconds(3)).build(),
                    HttpResponse.BodyHandlers.discarding());
            return Integer.toString(r.statusCode());
        } catch (IOException e) {
            return "no answer (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "no answer (interrupted)";
        }
    }

    private String logPath(DeployNode node) {
        return inventory.effectiveRunDir() + "/" + node.id() + ".log";
    }

    private String logTail(DeployNode node) {
        try {
            return Ssh.run(node.host(), NodeScripts.tail(inventory, node, LOG_TAIL_LINES), SCRIPT_TIMEOUT).stdout().stripTrailing();
        } catch (DeployException e) {
            return "(could not read it: " + e.getMessage() + ")";
        }
    }

    /** Prints the router's GET /v1/cluster, summarized: readiness and one line per serving node. */
    private void printCluster() {
        DeployNode router = inventory.nodes().getFirst();
        URI uri = URI.create("http://" + DeployNode.hostPort(router.host().address(), router.port()) + "/v1/cluster");
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5));
        if (!inventory.apiKey().isEmpty()) {
            request.header("Authorization", "Bearer " + inventory.apiKey());
        }
        try {
            HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                out.println("cluster: GET " + uri + " answered " + r.statusCode() + ": " + r.body().strip());
                return;
            }
            JsonNode view = json.readTree(r.body());
            JsonNode members = view.path("nodes");
            Map<String, Integer> roles = new LinkedHashMap<>();
            members.forEach(m -> roles.merge(m.path("role").asText(), 1, Integer::sum));
            out.println("cluster: model " + view.path("model").asText() + ", " + (view.path("ready").asBoolean()
                    ? "ready" : "not ready") + ", router " + router.id() + " and " + members.size() + " member(s): "
                    + String.join(", ", roles.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).toList()));
            for (JsonNode m : members) {
                out.printf("  %-24s %-8s %-40s %s%n", m.path("node").asText(), m.path("role").asText(),
                        m.path("address").asText(), m.path("reachable").asBoolean() ? "reachable" : "unreachable");
            }
        } catch (IOException e) {
            out.println("cluster: GET " + uri + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            out.flush();
        }
    }

    // ---- helpers

    private static Map<Inventory.Host, List<DeployNode>> byHost(List<DeployNode> nodes) {
        Map<Inventory.Host, List<DeployNode>> byHost = new LinkedHashMap<>();
        for (DeployNode n : nodes) {
            byHost.computeIfAbsent(n.host(), h -> new ArrayList<>()).add(n);
        }
        return byHost;
    }

    /**
     * Runs one task per host, all at once, and returns each host's result; a host whose task fails gets its
     * message (the {@link DeployException}'s, which names the host) in {@code failures} instead.
     */
    private static <T> Map<Inventory.Host, T> onHosts(Map<Inventory.Host, Callable<T>> tasks,
            Map<Inventory.Host, String> failures) {
        Map<Inventory.Host, T> results = new LinkedHashMap<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Map<Inventory.Host, Future<T>> futures = new LinkedHashMap<>();
            tasks.forEach((h, t) -> futures.put(h, pool.submit(t)));
            futures.forEach((h, f) -> {
                try {
                    results.put(h, f.get());
                } catch (ExecutionException e) {
                    failures.put(h, e.getCause() instanceof DeployException d ? d.getMessage()
                            : h.address() + ": " + e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failures.put(h, h.address() + ": interrupted");
                }
            });
        }
        return results;
    }
}
