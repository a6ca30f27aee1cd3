package dev.baton.bench.plan;

import dev.baton.planner.CapacityModel;
import dev.baton.planner.Decision;
import dev.baton.planner.Objectives;
import dev.baton.planner.Observation;
import dev.baton.planner.Planner;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.PlannerState;
import dev.baton.planner.Pool;
import dev.baton.planner.RequestTrace;
import dev.baton.planner.Summary;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * A discrete-event model of a disaggregated Baton cluster (a prefill pool and a decode pool behind the router)
 * that replays a request trace, with the SLO planner in the loop or with a fixed allocation.
 *
 * <p><b>Prefill.</b> A prefill node computes one prompt at a time, first come first served. The router sends a
 * request to the ready prefill node with the least queued work (the sum of the profiled prefill times of its
 * queue and of the rest of the prompt it is computing). A prompt's service time is the profile's TTFT at its
 * effective length (prompt minus cached tokens), {@link CapacityModel#prefillMs}: with noise, at a percentile
 * drawn uniformly from [0, 1) (the median for half the prompts, up to the profile's p99 for the rest), else at
 * the median. The first token leaves the prefill node with the prompt; after a fixed KV transfer time the
 * request reaches the decode pool. TTFT = arrival to end of prefill plus the transfer.
 *
 * <p><b>Decode.</b> A decode node batches its streams continuously: each step produces one token of every
 * stream, and a step takes the profile's ITL at the node's number of streams {@code c} and their mean context
 * (prompt plus half the output), {@link CapacityModel#itlMs}{@code (c, ctx, 0.5)}. Event-based: between two
 * changes of a node's batch every stream advances at the same rate, so the next completion is computed, not
 * stepped. The router sends a request to the ready decode node with the fewest streams. A request's ITL is its
 * decode time over its output tokens after the first; a request of one output token has no ITL (it meets the
 * ITL objective). With noise a request also needs {@code ITL(c, ctx, u) / ITL(c, ctx, 0.5)} times as many steps
 * ({@code u} uniform, {@code c} and {@code ctx} at its entry), so that per-request ITLs spread like the profile's
 * per-request TPOT. KV memory is not modelled (a node takes any number of streams).
 *
 * <p><b>Nodes.</b> A started node serves after a start-up delay. A drained node takes no new requests, finishes
 * its own and leaves when empty; a scale-down drains the ready nodes with the least work. Node-seconds count
 * every second a node exists (starting, serving, draining), from 0 to the end of the trace. While a pool has
 * no ready node the router holds its requests and sends them when one becomes ready.
 *
 * <p><b>Planner.</b> Every planner interval the router's view of the interval becomes an {@link Observation}
 * (arrivals and their prompt, effective prompt and output lengths; TTFT of the requests whose first token came
 * in the interval; ITL of the requests that finished in it; per pool ready, starting and draining nodes,
 * running and waiting requests; for the prefill pool the ratio of queueing to prefill time of the prompts
 * finished in the interval) and {@link Planner#tick} decides; its starts, drains and abandons are applied
 * at once. With a fixed allocation nothing changes the pools.
 *
 * <p>A request meets the objectives when its TTFT is at most the TTFT objective and its ITL at most the ITL
 * objective. Deterministic: the same trace, settings and seed give the same result.
 */
public final class ClusterSimulator {

    /**
     * How the cluster behaves.
     *
     * @param startupMs  from a node's start to its first request
     * @param transferMs the KV transfer from prefill to decode node, added to TTFT
     * @param noise      prefill times drawn between the profile's percentiles (else the median)
     * @param seed       of the noise
     */
    public record Settings(long startupMs, double transferMs, boolean noise, long seed) {
        public static final Settings DEFAULT = new Settings(30_000, 5, true, 7);

        public Settings {
            if (startupMs < 0 || !(transferMs >= 0)) {
                throw new IllegalArgumentException("start-up " + startupMs + " ms and transfer " + transferMs + " ms must not be negative");
            }
        }
    }

    /** One planner interval of a run (requests by arrival). */
    public record Interval(double endS, int prefillNodes, int decodeNodes, int prefillReady, int decodeReady, long arrivals,
            long met, double attainment, double ttftP90Ms, double itlP90Ms) {}

    /**
     * The outcome of one run.
     *
     * @param attainment        share of the trace's requests inside both objectives
     * @param goodputPerSecond  requests inside the objectives per second of the trace
     * @param durationS         the trace's length: node-seconds and goodput are over {@code [0, durationS]}
     * @param ttftMs            per request, in trace order
     * @param itlMs             per request, NaN for a request of one output token
     */
    public record Result(String name, int requests, int completed, long met, double attainment, double goodputPerSecond,
            double prefillNodeSeconds, double decodeNodeSeconds, double durationS, int maxPrefill, int maxDecode,
            List<Interval> series, List<Decision> decisions, double[] ttftMs, double[] itlMs) {

        public double nodeSeconds() {
            return prefillNodeSeconds + decodeNodeSeconds;
        }
    }

    // ---- the model's state

    private enum State { STARTING, READY, DRAINING, GONE }

    private static final class Node {
        final Pool pool;
        final double createdMs;
        final double readyAtMs;
        double goneMs = Double.NaN;
        State state;
        // prefill
        final ArrayDeque<Req> queue = new ArrayDeque<>();
        Req busy;
        double busyEndMs;
        double queuedWorkMs; // expected work of the queue (not of the busy prompt)
        // decode
        final PriorityQueue<Req> streams = new PriorityQueue<>((a, b) -> Double.compare(a.finishV, b.finishV));
        double v; // tokens each stream has made since the node began
        double vAtMs;
        double rate; // tokens per ms per stream
        double ctxSum;
        int version;

        Node(Pool pool, double now, double readyAt) {
            this.pool = pool;
            this.createdMs = now;
            this.readyAtMs = readyAt;
            this.state = readyAt <= now ? State.READY : State.STARTING;
        }

        double work(double now) {
            return pool == Pool.PREFILL ? queuedWorkMs + (busy == null ? 0 : Math.max(0, busyEndMs - now)) : streams.size();
        }

        boolean empty() {
            return pool == Pool.PREFILL ? busy == null && queue.isEmpty() : streams.isEmpty();
        }
    }

    private static final class Req {
        final int index;
        final RequestTrace.Entry e;
        double serviceMs;
        double expectedMs;
        double firstTokenMs;
        double prefillStartMs;
        double decodeStartMs;
        double finishV;
        double ctx;

        Req(int index, RequestTrace.Entry e) {
            this.index = index;
            this.e = e;
        }
    }

    private record Event(double atMs, long seq, int kind, Node node, Req req, int version) {}

    private static final int PREFILL_DONE = 0;
    private static final int DECODE_ENTER = 1;
    private static final int DECODE_STEP = 2;
    private static final int NODE_READY = 3;

    private final List<RequestTrace.Entry> trace;
    private final CapacityModel model;
    private final Objectives objectives;
    private final Settings settings;
    private final double intervalMs;
    private final double durationMs;
    private final SplittableRandom rnd;
    private final PriorityQueue<Event> events = new PriorityQueue<>((a, b) -> a.atMs != b.atMs ? Double.compare(a.atMs, b.atMs)
            : Long.compare(a.seq, b.seq));
    private long seq;
    private final Map<Pool, List<Node>> nodes = new EnumMap<>(Pool.class);
    private final Map<Pool, ArrayDeque<Req>> held = new EnumMap<>(Pool.class);
    private final double[] ttft;
    private final double[] itl;
    private final double[] doneMs;
    private int completed;
    // per interval, for the observation
    private final List<Double> ttftIn = new ArrayList<>();
    private final List<Double> itlIn = new ArrayList<>();
    private double waitedMs; // prefill queueing of the prompts finished in the interval
    private double computedMs; // and their prefill time

    private ClusterSimulator(List<RequestTrace.Entry> trace, CapacityModel model, Objectives objectives, Settings settings,
            double intervalMs, double durationS) {
        this.trace = trace;
        this.model = model;
        this.objectives = objectives;
        this.settings = settings;
        this.intervalMs = intervalMs;
        this.durationMs = durationS * 1000;
        this.rnd = new SplittableRandom(settings.seed());
        for (Pool p : List.of(Pool.PREFILL, Pool.DECODE)) {
            nodes.put(p, new ArrayList<>());
            held.put(p, new ArrayDeque<>());
        }
        ttft = new double[trace.size()];
        itl = new double[trace.size()];
        doneMs = new double[trace.size()];
        java.util.Arrays.fill(doneMs, Double.NaN);
    }

    /** The trace's length in seconds: its last arrival, rounded up to a whole interval. */
    public static double duration(List<RequestTrace.Entry> trace, double intervalS) {
        double last = trace.isEmpty() ? 0 : trace.get(trace.size() - 1).t();
        return Math.max(1, Math.ceil(last / intervalS + 1e-9)) * intervalS;
    }

    /** A fixed allocation of {@code prefill} and {@code decode} nodes, ready from the start. */
    public static Result fixed(String name, List<RequestTrace.Entry> trace, CapacityModel model, Objectives objectives,
            Settings settings, double intervalS, int prefill, int decode) {
        if (prefill < 1 || decode < 1) {
            throw new IllegalArgumentException("a fixed allocation needs at least one node per pool, got " + prefill + "P" + decode + "D");
        }
        ClusterSimulator sim = new ClusterSimulator(trace, model, objectives, settings, intervalS * 1000, duration(trace, intervalS));
        return sim.run(name, null, prefill, decode);
    }

    /**
     * The planner in the loop: the pools start at their minimum (at least one node each), ready; the planner's
     * objectives are the ones met.
     */
    public static Result planned(String name, List<RequestTrace.Entry> trace, CapacityModel model, PlannerSettings planner,
            Settings settings) {
        double intervalS = planner.interval().toMillis() / 1000.0;
        ClusterSimulator sim = new ClusterSimulator(trace, model, planner.objectives(), settings, intervalS * 1000,
                duration(trace, intervalS));
        return sim.run(name, planner, Math.max(1, planner.bounds().get(Pool.PREFILL).min()),
                Math.max(1, planner.bounds().get(Pool.DECODE).min()));
    }

    private void schedule(double at, int kind, Node node, Req req, int version) {
        events.add(new Event(at, seq++, kind, node, req, version));
    }

    private Node addNode(Pool p, double now, double readyAt) {
        Node n = new Node(p, now, readyAt);
        nodes.get(p).add(n);
        if (n.state == State.STARTING) {
            schedule(readyAt, NODE_READY, n, null, 0);
        }
        return n;
    }

    private Result run(String name, PlannerSettings planner, int prefill, int decode) {
        for (int i = 0; i < prefill; i++) {
            addNode(Pool.PREFILL, 0, 0);
        }
        for (int i = 0; i < decode; i++) {
            addNode(Pool.DECODE, 0, 0);
        }
        CapacityModel base = model.corrected(1, 1);
        PlannerState state = planner == null ? null : PlannerState.initial(planner);
        List<Decision> decisions = new ArrayList<>();
        List<Interval> series = new ArrayList<>();
        int next = 0;
        int maxP = prefill;
        int maxD = decode;
        long guard = 0;
        for (int k = 1; ; k++) {
            double tickMs = k * intervalMs;
            int arrivedFrom = next;
            // every event and arrival before the tick
            while (guard++ < 500_000_000L) {
                double arrival = next < trace.size() ? trace.get(next).t() * 1000 : Double.POSITIVE_INFINITY;
                Event ev = events.peek();
                double evAt = ev == null ? Double.POSITIVE_INFINITY : ev.atMs();
                if (Math.min(arrival, evAt) >= tickMs) {
                    break;
                }
                if (arrival <= evAt) {
                    Req r = new Req(next, trace.get(next));
                    next++;
                    r.expectedMs = base.prefillMs(r.e.effectivePrompt(), 0.5);
                    r.serviceMs = settings.noise() ? base.prefillMs(r.e.effectivePrompt(), rnd.nextDouble()) : r.expectedMs;
                    route(Pool.PREFILL, r, arrival);
                } else {
                    events.poll();
                    handle(ev);
                }
            }
            List<RequestTrace.Entry> arrived = trace.subList(arrivedFrom, next);
            if (planner != null) {
                Observation obs = observe((long) tickMs, arrived);
                Decision d = Planner.tick(obs, model, planner, state);
                state = d.state();
                decisions.add(d);
                apply(d, tickMs);
            }
            ttftIn.clear();
            itlIn.clear();
            waitedMs = 0;
            computedMs = 0;
            int pn = existing(Pool.PREFILL);
            int dn = existing(Pool.DECODE);
            maxP = Math.max(maxP, pn);
            maxD = Math.max(maxD, dn);
            if (tickMs <= durationMs + 1e-6) {
                series.add(interval(tickMs, arrivedFrom, next, pn, dn));
            }
            if (tickMs >= durationMs && next >= trace.size() && completed == trace.size()) {
                break;
            }
            if (k > 10_000_000 || tickMs > durationMs + 24 * 3600_000.0) {
                throw new IllegalStateException("simulation of " + name + " did not finish: " + (trace.size() - completed)
                        + " requests left a day after the trace's end");
            }
        }
        // series attainment is by arrival: fill it in now that every request is done
        List<Interval> filled = new ArrayList<>(series.size());
        int from = 0;
        for (Interval iv : series) {
            int to = from;
            while (to < trace.size() && trace.get(to).t() * 1000 < iv.endS() * 1000) {
                to++;
            }
            long met = 0;
            List<Double> t = new ArrayList<>();
            List<Double> l = new ArrayList<>();
            for (int i = from; i < to; i++) {
                met += meets(i) ? 1 : 0;
                t.add(ttft[i]);
                if (!Double.isNaN(itl[i])) {
                    l.add(itl[i]);
                }
            }
            filled.add(new Interval(iv.endS(), iv.prefillNodes(), iv.decodeNodes(), iv.prefillReady(), iv.decodeReady(), to - from,
                    met, to > from ? met / (double) (to - from) : Double.NaN, summary(t).p90(), summary(l).p90()));
            from = to;
        }
        long met = 0;
        for (int i = 0; i < trace.size(); i++) {
            met += meets(i) ? 1 : 0;
        }
        double durS = durationMs / 1000;
        return new Result(name, trace.size(), completed, met, trace.isEmpty() ? 1 : met / (double) trace.size(), met / durS,
                nodeSeconds(Pool.PREFILL), nodeSeconds(Pool.DECODE), durS, maxP, maxD, filled, decisions, ttft, itl);
    }

    private boolean meets(int i) {
        return ttft[i] <= objectives.ttftMs() && (Double.isNaN(itl[i]) || itl[i] <= objectives.itlMs());
    }

    private Interval interval(double tickMs, int from, int to, int pn, int dn) {
        return new Interval(tickMs / 1000, pn, dn, ready(Pool.PREFILL), ready(Pool.DECODE), to - from, 0, Double.NaN, 0, 0);
    }

    private int existing(Pool p) {
        int n = 0;
        for (Node x : nodes.get(p)) {
            n += x.state != State.GONE ? 1 : 0;
        }
        return n;
    }

    private int ready(Pool p) {
        int n = 0;
        for (Node x : nodes.get(p)) {
            n += x.state == State.READY ? 1 : 0;
        }
        return n;
    }

    private double nodeSeconds(Pool p) {
        double s = 0;
        for (Node n : nodes.get(p)) {
            double end = Double.isNaN(n.goneMs) ? durationMs : Math.min(n.goneMs, durationMs);
            s += Math.max(0, end - Math.min(n.createdMs, durationMs));
        }
        return s / 1000;
    }

    // ---- events

    private void handle(Event ev) {
        double now = ev.atMs();
        switch (ev.kind()) {
            case NODE_READY -> {
                Node n = ev.node();
                if (n.state == State.STARTING) {
                    n.state = State.READY;
                    ArrayDeque<Req> waiting = held.get(n.pool);
                    while (!waiting.isEmpty()) {
                        Req r = waiting.poll();
                        if (n.pool == Pool.PREFILL) {
                            route(Pool.PREFILL, r, now);
                        } else {
                            route(Pool.DECODE, r, now);
                        }
                    }
                }
            }
            case PREFILL_DONE -> {
                Node n = ev.node();
                Req r = n.busy;
                n.busy = null;
                r.firstTokenMs = now + settings.transferMs();
                ttft[r.index] = r.firstTokenMs - r.e.t() * 1000;
                ttftIn.add(ttft[r.index]);
                waitedMs += r.prefillStartMs - r.e.t() * 1000;
                computedMs += r.serviceMs;
                startNext(n, now);
                if (r.e.output() <= 1) {
                    itl[r.index] = Double.NaN;
                    finish(r, r.firstTokenMs);
                } else {
                    schedule(r.firstTokenMs, DECODE_ENTER, null, r, 0);
                }
                leaveIfDone(n, now);
            }
            case DECODE_ENTER -> route(Pool.DECODE, ev.req(), now);
            case DECODE_STEP -> {
                Node n = ev.node();
                if (ev.version() != n.version) {
                    return;
                }
                advance(n, now);
                while (!n.streams.isEmpty() && n.streams.peek().finishV <= n.v + 1e-6) {
                    Req r = n.streams.poll();
                    n.ctxSum -= r.ctx;
                    itl[r.index] = (now - r.decodeStartMs) / (r.e.output() - 1);
                    itlIn.add(itl[r.index]);
                    finish(r, now);
                }
                reschedule(n, now);
                leaveIfDone(n, now);
            }
            default -> throw new IllegalStateException("event " + ev.kind());
        }
    }

    private void finish(Req r, double now) {
        doneMs[r.index] = now;
        completed++;
    }

    private void leaveIfDone(Node n, double now) {
        if (n.state == State.DRAINING && n.empty()) {
            n.state = State.GONE;
            n.goneMs = now;
        }
    }

    private void route(Pool p, Req r, double now) {
        Node best = null;
        double bestWork = Double.POSITIVE_INFINITY;
        for (Node n : nodes.get(p)) {
            if (n.state == State.READY) {
                double w = n.work(now);
                if (w < bestWork) {
                    bestWork = w;
                    best = n;
                }
            }
        }
        if (best == null) {
            held.get(p).add(r);
            return;
        }
        if (p == Pool.PREFILL) {
            best.queue.add(r);
            best.queuedWorkMs += r.expectedMs;
            if (best.busy == null) {
                startNext(best, now);
            }
        } else {
            advance(best, now);
            r.decodeStartMs = now;
            r.ctx = r.e.prompt() + r.e.output() / 2.0;
            double slower = 1;
            if (settings.noise()) {
                // this request's share of the profile's spread of per-request ITL at this batch and context
                int c = best.streams.size() + 1;
                slower = model.itlMs(c, r.ctx, rnd.nextDouble()) / model.itlMs(c, r.ctx, 0.5);
            }
            r.finishV = best.v + (r.e.output() - 1) * slower;
            best.ctxSum += r.ctx;
            best.streams.add(r);
            reschedule(best, now);
        }
    }

    private void startNext(Node n, double now) {
        Req r = n.queue.poll();
        if (r == null) {
            n.queuedWorkMs = 0;
            return;
        }
        n.queuedWorkMs = Math.max(0, n.queuedWorkMs - r.expectedMs);
        n.busy = r;
        n.busyEndMs = now + r.serviceMs;
        r.prefillStartMs = now;
        schedule(n.busyEndMs, PREFILL_DONE, n, r, 0);
    }

    private void advance(Node n, double now) {
        n.v += (now - n.vAtMs) * n.rate;
        n.vAtMs = now;
    }

    private void reschedule(Node n, double now) {
        n.version++;
        int c = n.streams.size();
        if (c == 0) {
            n.rate = 0;
            return;
        }
        n.rate = 1 / model.itlMs(c, n.ctxSum / c, 0.5);
        double left = Math.max(0, n.streams.peek().finishV - n.v);
        schedule(now + left / n.rate, DECODE_STEP, n, null, n.version);
    }

    // ---- the planner

    private Observation observe(long atMs, List<RequestTrace.Entry> arrived) {
        int n = arrived.size();
        double[] prompt = new double[n];
        double[] eff = new double[n];
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            RequestTrace.Entry e = arrived.get(i);
            prompt[i] = e.prompt();
            eff[i] = e.effectivePrompt();
            out[i] = e.output();
        }
        Map<Pool, Observation.PoolObservation> pools = new EnumMap<>(Pool.class);
        for (Pool p : List.of(Pool.PREFILL, Pool.DECODE)) {
            int ready = 0;
            int starting = 0;
            int draining = 0;
            int running = 0;
            int waiting = held.get(p).size();
            for (Node x : nodes.get(p)) {
                switch (x.state) {
                    case READY -> ready++;
                    case STARTING -> starting++;
                    case DRAINING -> draining++;
                    default -> { }
                }
                if (p == Pool.PREFILL) {
                    running += x.busy != null ? 1 : 0;
                    waiting += x.queue.size();
                } else {
                    running += x.streams.size();
                }
            }
            // measured where the pool computed; NaN (unknown) otherwise, as the router reports it
            double queueCompute = p == Pool.PREFILL && computedMs > 0 ? waitedMs / computedMs : Double.NaN;
            pools.put(p, new Observation.PoolObservation(ready, starting, draining, running, waiting, queueCompute, 0));
        }
        return new Observation(atMs, intervalMs / 1000, n, Summary.of(prompt), Summary.of(eff), Summary.of(out), summary(ttftIn),
                summary(itlIn), pools);
    }

    private static Summary summary(List<Double> xs) {
        double[] a = new double[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = xs.get(i);
        }
        return Summary.of(a);
    }

    private void apply(Decision d, double now) {
        for (Map.Entry<Pool, Decision.PoolDecision> e : d.pools().entrySet()) {
            Pool p = e.getKey();
            if (!nodes.containsKey(p)) {
                continue;
            }
            Decision.PoolDecision pd = e.getValue();
            for (int i = 0; i < pd.start(); i++) {
                addNode(p, now, now + settings.startupMs());
            }
            // abandoned: the newest starting nodes stop (their time so far counts)
            for (int i = 0; i < pd.abandoned(); i++) {
                Node newest = null;
                for (Node x : nodes.get(p)) {
                    if (x.state == State.STARTING && (newest == null || x.createdMs >= newest.createdMs)) {
                        newest = x;
                    }
                }
                if (newest == null) {
                    break;
                }
                newest.state = State.GONE;
                newest.goneMs = now;
            }
            for (int i = 0; i < pd.drain(); i++) {
                Node least = null;
                for (Node x : nodes.get(p)) {
                    if (x.state == State.READY && (least == null || x.work(now) < least.work(now))) {
                        least = x;
                    }
                }
                if (least == null || ready(p) <= 1) {
                    break; // the last ready node of a pool stays
                }
                least.state = State.DRAINING;
                leaveIfDone(least, now);
            }
        }
    }
}
