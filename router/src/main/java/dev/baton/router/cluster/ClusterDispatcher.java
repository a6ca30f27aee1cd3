package dev.baton.router.cluster;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.ModelFingerprint;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.TransferId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.KvEvents;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.common.protocol.SamplingSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The router's side of the cluster: which nodes exist and in which role (Receptionist), how loaded
 * they are (polled {@link NodeProtocol.LoadReport}s), where each request runs, and what to do when a
 * node goes away: its in-flight requests move to other nodes (stream migration, below), or fail at once,
 * retryable, when no node can take them.
 *
 * <p>Routing (docs/design.md §3): with at least one prefill and one decode node the request is
 * disaggregated. Both choices are KV-aware: from the nodes' KV events ({@link KvIndex}) the router
 * knows how much of the prompt each node holds, and takes the lowest cost minus cache benefit within
 * a herding guard ({@link RoutingSettings}). The decode node is chosen first, among those whose free
 * KV blocks (minus what this router sent since their last report) hold the prompt plus
 * {@code max_tokens}, its cost being its running, waiting and in-flight requests; then the prefill
 * node with room for the prompt, its cost being the prompt tokens it has queued. A decode node that
 * holds all of the prompt but at most {@code decode-prefill-threshold} tokens gets the request whole
 * and computes the remainder itself; one that holds less receives only the blocks it lacks (it says
 * which in its {@link NodeProtocol.DecodeReady}). Both are told at once ({@link NodeProtocol.Reserve}, {@link NodeProtocol.Prefill})
 * under a transfer id chosen here; a request without a seed gets one here, so both nodes draw the
 * same random numbers. The first token comes from the prefill node and the rest from the decode
 * node; they are put back in order by {@link GenerationEvent.Tokens#index()}. Without a
 * prefill/decode pair, requests go whole to worker nodes, chosen like prefill nodes. With no room
 * anywhere the request fails retryable (the HTTP layer answers 503 with Retry-After).
 *
 * <p>Stream migration (docs/design.md §12): every request gets a seed here, and the router keeps the
 * token ids it delivered. When the node generating a request is lost (unreachable, down, left, or stuck: its
 * load report says its engine loop makes no progress), or its
 * prefill node is lost before the decode node produced a token, or a node reports a retryable failure
 * after the request started there, the request is routed again as a new <em>attempt</em> (its own
 * request id on the nodes, so late events of the lost attempt are ignored) with the prompt plus the
 * delivered tokens, of which the nodes know that they are output ({@code resumed}): they continue the
 * sequence with the same draws, so the client's stream goes on with no token lost or repeated. At most
 * {@link RoutingSettings#maxMigrations()} times per request.
 *
 * <p>Several models (docs/design.md §1): a request may carry its model's fingerprint; it then goes only to nodes
 * whose load reports carry that fingerprint (every choice above, the session's node and the herding guard's least
 * busy node included), and its prompt is hashed with that model's block hasher. Without one (a router serving one
 * model) any node serves it.
 *
 * <p>Threading: {@link #submit}, {@link #cancel} and the getters are thread-safe; all state lives in
 * one actor; listeners are called on that actor's thread.
 */
public final class ClusterDispatcher {

    private sealed interface Msg {}

    private record Submit(RequestId id, int[] prompt, SamplingSpec sampling, String cacheSalt, String session,
            String model, DispatchListener listener) implements Msg {}

    private record CancelReq(RequestId id, String reason) implements Msg {}

    private record Listing(Receptionist.Listing listing) implements Msg {}

    private record Event(GenerationEvent event) implements Msg {}

    private record Load(NodeProtocol.LoadReport report, ActorRef<NodeProtocol.Command> from) implements Msg {}

    private record LoadFailed(ActorRef<NodeProtocol.Command> from) implements Msg {}

    private record Member(ClusterEvent.MemberEvent event) implements Msg {}

    private record Reachability(ClusterEvent.ReachabilityEvent event) implements Msg {}

    private enum Poll implements Msg { INSTANCE }

    private record KvBatch(KvEvents.Batch batch) implements Msg {}

    private record KvStateMsg(KvEvents.State state) implements Msg {}

    private record ResyncFailed(NodeId nodeId) implements Msg {}

    /** A node announced that it drains (topic {@link NodeProtocol#DRAINING_TOPIC}). */
    private record NodeDraining(NodeProtocol.Draining draining) implements Msg {}

    /** {@code bin/baton drain NODE}: tell the node to drain, and stop routing to it now. */
    private record DrainNode(String nodeId, String reason) implements Msg {}

    /** The service keys of the roles, by role name. */
    private static final Map<String, ServiceKey<NodeProtocol.Command>> KEYS = Map.of(
            "worker", NodeProtocol.WORKER_KEY, "prefill", NodeProtocol.PREFILL_KEY, "decode", NodeProtocol.DECODE_KEY);

    private static final class Node {
        final ActorRef<NodeProtocol.Command> ref;
        final String role;
        NodeProtocol.LoadReport load;
        boolean reachable = true; // the cluster's word: no observer marks it unreachable
        boolean lost; // unreachable and silent to this router's polls: its attempts were moved (failNode)
        long heardNanos = System.nanoTime(); // when this router last had a load report from it
        boolean draining; // announced or reported: finishes what it has, gets nothing new
        int inFlight;
        int reservedBlocks; // blocks this router sent since the node's last load report
        int loadEpoch; // load reports received
        long queuedTokens; // prompt tokens this router sent and the node has not computed yet (prefill, worker)

        Node(ActorRef<NodeProtocol.Command> ref, String role) {
            this.ref = ref;
            this.role = role;
        }

        Address address() {
            return ref.path().address();
        }

        boolean usable(String wanted, String model) {
            return role.equals(wanted) && reachable && !draining && load != null && !load.stuck() && serves(model);
        }

        /** Whether the node serves {@code model} (a fingerprint; null: any model) as of its last load report. */
        boolean serves(String model) {
            return model == null || (load != null && model.equals(load.model()));
        }

        int blocksFor(int positions) {
            int bs = Math.max(1, load.blockSize());
            return (positions + bs - 1) / bs;
        }

        boolean hasRoom(int blocks) {
            return blocks <= load.freeBlocks() - reservedBlocks;
        }

        int score() {
            return load.running() + load.waiting() + inFlight;
        }
    }

    /** One client request, across the attempts that serve it (more than one when its stream migrates). */
    private static final class Job {
        final RequestId client;
        final int[] prompt;
        final SamplingSpec sampling; // with a seed: a migrated attempt draws what the first would have
        final String cacheSalt;
        final String session; // the sticky-session key (salt and session id), null for none
        final String model; // the fingerprint of the model the request is for; null: any node's model (one served)
        final DispatchListener listener;
        int[] delivered = new int[16]; // token ids the client has received, in order
        int deliveredCount;
        int migrations;
        boolean prefilledReported;
        boolean cancelled;
        InFlight current;
        long parkedUntil; // System.nanoTime() deadline while no node can take the stream over; 0 when not parked
        String parkedReason; // why its last attempt ended, while parked
        String parkedTag;

        Job(RequestId client, int[] prompt, SamplingSpec sampling, String cacheSalt, String session, String model,
                DispatchListener listener) {
            this.model = model;
            this.client = client;
            this.prompt = prompt;
            this.sampling = sampling;
            this.cacheSalt = cacheSalt;
            this.session = session;
            this.listener = listener;
        }

        void delivered(int[] tokens) {
            if (deliveredCount + tokens.length > delivered.length) {
                delivered = java.util.Arrays.copyOf(delivered, Math.max(delivered.length * 2, deliveredCount + tokens.length));
            }
            System.arraycopy(tokens, 0, delivered, deliveredCount, tokens.length);
            deliveredCount += tokens.length;
        }

        /** The prompt of the next attempt: the prompt, then every token delivered so far. */
        int[] resumedPrompt() {
            int[] p = java.util.Arrays.copyOf(prompt, prompt.length + deliveredCount);
            System.arraycopy(delivered, 0, p, prompt.length, deliveredCount);
            return p;
        }
    }

    /** One attempt at a request: on a worker, or on a prefill node then a decode node. */
    private static final class InFlight {
        final Job job;
        final RequestId attempt; // the request id the nodes know: the client's for the first attempt
        final int resumed; // output tokens delivered before this attempt began
        final DispatchListener listener;
        final Node worker;
        final Node prefill;
        final Node decode;
        final int blocks;
        final int prefillBlocks;
        final Node computes; // the node that computes the prompt: the prefill node or the worker
        int decodeEpoch = -1; // load epoch of the node holding prompt + max_tokens when its blocks were counted
        int prefillEpoch = -1;
        long queuedTokens;
        int nextIndex; // completion index of the next token to deliver
        boolean prefillReleased;
        boolean started; // a node of this attempt reported progress (prefilled, a token)
        final TreeMap<Integer, GenerationEvent.Tokens> early = new TreeMap<>();
        GenerationEvent.Finished finished; // held until every token before it is delivered

        InFlight(Job job, RequestId attempt, Node worker, Node prefill, Node decode, int blocks, int prefillBlocks) {
            this.job = job;
            this.attempt = attempt;
            this.resumed = job.deliveredCount;
            this.nextIndex = resumed;
            this.listener = job.listener;
            this.worker = worker;
            this.prefill = prefill;
            this.decode = decode;
            this.blocks = blocks;
            this.prefillBlocks = prefillBlocks;
            this.computes = prefill != null ? prefill : worker;
        }

        /** The prompt is computed (first token seen) or the request ended: the node's queue shrinks. */
        void promptDone() {
            if (queuedTokens > 0) {
                computes.queuedTokens -= queuedTokens;
                queuedTokens = 0;
            }
        }

        /**
         * Whether losing {@code n} loses this attempt. The prefill node counts until the decode node delivered
         * a token: before that the prompt's KV may still be on its way.
         */
        boolean uses(Node n) {
            return n == worker || n == decode || (n == prefill && (!prefillReleased || nextIndex <= resumed + 1));
        }
    }

    private final ActorRef<Msg> actor;
    private final RoutingSettings routing;
    private final RoutingMetrics metrics;
    private volatile List<NodeView> view = List.of();

    public ClusterDispatcher(ActorSystem<?> system, Duration loadPollInterval) {
        this(system, RoutingSettings.defaults(loadPollInterval), null);
    }

    /** @param registry where the routing meters go; null for none */
    public ClusterDispatcher(ActorSystem<?> system, RoutingSettings routing, MeterRegistry registry) {
        this.routing = routing;
        this.metrics = new RoutingMetrics(registry);
        this.actor = system.systemActorOf(Behaviors.setup(ctx -> behavior(ctx, routing.loadPollInterval())),
                "cluster-dispatcher", org.apache.pekko.actor.typed.Props.empty());
    }

    /**
     * Sends a request to the best node(s); the outcome arrives through {@code listener}. Its prompt's
     * blocks are hashed with {@code cacheSalt} (the tenant cache salt, {@code ""} for none), for
     * routing by prefix as on the nodes.
     */
    public void submit(RequestId id, int[] prompt, SamplingSpec sampling, String cacheSalt, DispatchListener listener) {
        submit(id, prompt, sampling, cacheSalt, null, listener);
    }

    /**
     * As {@link #submit(RequestId, int[], SamplingSpec, String, DispatchListener)}, for a request of the session
     * {@code session} (null for none): it goes to the node(s) that served the session's last request while they
     * can take it ({@link RoutingSettings.Sessions}).
     */
    public void submit(RequestId id, int[] prompt, SamplingSpec sampling, String cacheSalt, String session,
            DispatchListener listener) {
        submit(id, prompt, sampling, cacheSalt, session, null, listener);
    }

    /**
     * As {@link #submit(RequestId, int[], SamplingSpec, String, String, DispatchListener)}, for the model whose
     * fingerprint is {@code model} (as the nodes report it in {@link NodeProtocol.LoadReport#model()}): only nodes
     * of that model are chosen, and its prompt is hashed with that model's block hasher. Null: any node (a router
     * that serves one model).
     */
    public void submit(RequestId id, int[] prompt, SamplingSpec sampling, String cacheSalt, String session,
            String model, DispatchListener listener) {
        String key = session == null || !routing.sessions().enabled() ? null
                : (model == null ? "" : model) + '\u0000' + cacheSalt + '\u0000' + session;
        actor.tell(new Submit(id, prompt, sampling, cacheSalt, key, model, listener));
    }

    /** Cancels a request on its node(s) (client gone, timeout); the listener hears {@code onFailed}. */
    public void cancel(RequestId id, String reason) {
        actor.tell(new CancelReq(id, reason));
    }

    /** True when the nodes that have reported their load can serve: a worker, or a prefill and a decode node. */
    public boolean ready() {
        return ready(view);
    }

    /** True when nodes of the model whose fingerprint is {@code model} can serve (null: any model). */
    public boolean ready(String model) {
        return ready(view, model);
    }

    static boolean ready(List<NodeView> nodes) {
        return ready(nodes, null);
    }

    /** True when the serving nodes of {@code model} (null: of any model) hold a worker, or a prefill and a decode node. */
    static boolean ready(List<NodeView> nodes, String model) {
        boolean prefill = false;
        boolean decode = false;
        for (NodeView n : nodes) {
            if (n.serving() && (model == null || model.equals(n.model()))) {
                switch (n.role()) {
                    case "worker" -> {
                        return true;
                    }
                    case "prefill" -> prefill = true;
                    case "decode" -> decode = true;
                    default -> { }
                }
            }
        }
        return prefill && decode;
    }

    /**
     * Drains the node {@code nodeId} ({@code bin/baton drain}): it is no longer chosen from now on, and is
     * told to finish what it has, leave the cluster and exit.
     *
     * @return false when no node of that id is known
     */
    public boolean drain(String nodeId, String reason) {
        for (NodeView n : view) {
            if (n.nodeId().equals(nodeId)) {
                actor.tell(new DrainNode(nodeId, reason));
                return true;
            }
        }
        return false;
    }

    /** The nodes as last seen (refreshed with every load poll and membership change). */
    public List<NodeView> nodes() {
        return view;
    }

    private Behavior<Msg> behavior(ActorContext<Msg> ctx, Duration poll) {
        Map<ActorRef<NodeProtocol.Command>, Node> nodes = new HashMap<>();
        Map<RequestId, InFlight> requests = new HashMap<>(); // by attempt id
        Map<RequestId, Job> jobs = new HashMap<>(); // by the client's request id
        KvIndex index = new KvIndex((id, node) -> ctx.ask(KvEvents.State.class, node, Duration.ofSeconds(5),
                NodeProtocol.GetKvState::new, (state, failure) -> state != null ? new KvStateMsg(state) : new ResyncFailed(id)));
        metrics.bind(index);
        ActorRef<Topic.Command<KvEvents.Batch>> topic = ctx.spawn(Topic.create(KvEvents.Batch.class, KvEvents.TOPIC),
                "kv-events");
        topic.tell(Topic.subscribe(ctx.messageAdapter(KvEvents.Batch.class, KvBatch::new)));
        ActorRef<Topic.Command<NodeProtocol.Draining>> drainingTopic = ctx.spawn(
                Topic.create(NodeProtocol.Draining.class, NodeProtocol.DRAINING_TOPIC), "draining-topic");
        drainingTopic.tell(Topic.subscribe(ctx.messageAdapter(NodeProtocol.Draining.class, NodeDraining::new)));
        Hashing hashing = new Hashing();
        ActorRef<GenerationEvent> events = ctx.messageAdapter(GenerationEvent.class, Event::new);
        Core core = new Core(ctx, nodes, requests, jobs, events, index, hashing);
        ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, Listing::new);
        for (ServiceKey<NodeProtocol.Command> key : KEYS.values()) {
            ctx.getSystem().receptionist().tell(Receptionist.subscribe(key, listings));
        }
        Cluster cluster = Cluster.get(ctx.getSystem());
        cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberEvent.class, Member::new),
                ClusterEvent.MemberEvent.class));
        cluster.subscriptions().tell(Subscribe.create(
                ctx.messageAdapter(ClusterEvent.ReachabilityEvent.class, Reachability::new),
                ClusterEvent.ReachabilityEvent.class));
        return Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Poll.INSTANCE, poll);
            return Behaviors.receive(Msg.class)
                    .onMessage(Submit.class, s -> {
                        core.submit(s);
                        publish(nodes, index);
                        return Behaviors.same();
                    })
                    .onMessage(CancelReq.class, c -> {
                        Job j = jobs.get(c.id());
                        if (j != null && j.parkedUntil != 0) {
                            jobs.remove(c.id()); // waiting for a node: nothing runs anywhere
                            j.listener.onFailed(c.reason(), false);
                        } else if (j != null) {
                            j.cancelled = true;
                            tellNodes(j.current, new NodeProtocol.Cancel(j.current.attempt, c.reason()));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Event.class, e -> {
                        if (core.onEvent(e.event())) {
                            publish(nodes, index);
                        }
                        return Behaviors.same();
                    })
                    .onMessage(KvBatch.class, b -> {
                        index.onBatch(b.batch());
                        return Behaviors.same();
                    })
                    .onMessage(KvStateMsg.class, st -> {
                        index.onState(st.state());
                        publish(nodes, index);
                        return Behaviors.same();
                    })
                    .onMessage(ResyncFailed.class, f -> {
                        index.resyncFailed(f.nodeId());
                        return Behaviors.same();
                    })
                    .onMessage(Listing.class, l -> {
                        onListing(l.listing(), nodes, core, ctx, index);
                        core.retryParked();
                        publish(nodes, index);
                        return Behaviors.same();
                    })
                    .onMessage(NodeDraining.class, d -> {
                        Node n = nodes.get(d.draining().ref());
                        if (n != null && !n.draining) {
                            n.draining = true;
                            ctx.getLog().info("node {} drains: no new requests go to it", d.draining().node().value());
                            publish(nodes, index);
                        }
                        return Behaviors.same();
                    })
                    .onMessage(DrainNode.class, d -> {
                        for (Node n : nodes.values()) {
                            if (n.load != null && n.load.node().value().equals(d.nodeId())) {
                                n.draining = true;
                                n.ref.tell(new NodeProtocol.Drain(d.reason()));
                                ctx.getLog().info("draining node {} ({})", d.nodeId(), d.reason());
                            }
                        }
                        publish(nodes, index);
                        return Behaviors.same();
                    })
                    .onMessage(Load.class, l -> {
                        Node n = nodes.get(l.from());
                        if (n != null) {
                            boolean wasStuck = n.load != null && n.load.stuck();
                            n.load = l.report();
                            n.heardNanos = System.nanoTime();
                            n.draining |= l.report().draining();
                            n.reservedBlocks = 0;
                            n.loadEpoch++;
                            hashing.learn(l.report());
                            index.onLoad(l.report().node(), l.report().kvIncarnation(), l.report().kvSeq(), n.ref);
                            if (l.report().stuck() != wasStuck) {
                                core.stuckChanged(n);
                            }
                            core.retryParked();
                            publish(nodes, index);
                        }
                        return Behaviors.same();
                    })
                    .onMessage(LoadFailed.class, l -> Behaviors.same()) // the node stays as last seen; reachability decides
                    .onMessage(Reachability.class, r -> {
                        Address a = r.event().member().address();
                        boolean reachable = r.event() instanceof ClusterEvent.ReachableMember;
                        for (Node n : nodes.values()) {
                            if (n.address().equals(a)) {
                                n.reachable = reachable;
                                if (reachable) {
                                    n.lost = false;
                                } else {
                                    core.checkLost(n);
                                }
                            }
                        }
                        core.retryParked();
                        publish(nodes, index);
                        return Behaviors.same();
                    })
                    .onMessage(Member.class, m -> {
                        if (m.event() instanceof ClusterEvent.MemberRemoved || m.event() instanceof ClusterEvent.MemberDowned) {
                            Address a = m.event().member().address();
                            for (Iterator<Node> it = nodes.values().iterator(); it.hasNext(); ) {
                                Node n = it.next();
                                if (n.address().equals(a)) {
                                    it.remove();
                                    forget(n, index);
                                    core.failNode(n, "node " + a + " is down");
                                }
                            }
                            publish(nodes, index);
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Poll.class, p -> {
                        for (Node n : List.copyOf(nodes.values())) {
                            if (!n.reachable && !n.lost) {
                                core.checkLost(n);
                            }
                        }
                        core.retryParked();
                        pollLoads(nodes, ctx);
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    private static void forget(Node n, KvIndex index) {
        if (n.load != null) {
            index.drop(n.load.node());
        }
    }

    private static void onListing(Receptionist.Listing listing, Map<ActorRef<NodeProtocol.Command>, Node> nodes,
            Core core, ActorContext<Msg> ctx, KvIndex index) {
        for (Map.Entry<String, ServiceKey<NodeProtocol.Command>> k : KEYS.entrySet()) {
            if (!listing.isForKey(k.getValue())) {
                continue;
            }
            String role = k.getKey();
            Set<ActorRef<NodeProtocol.Command>> live = new HashSet<>(listing.getServiceInstances(k.getValue()));
            for (ActorRef<NodeProtocol.Command> r : live) {
                nodes.computeIfAbsent(r, ref -> new Node(ref, role));
            }
            for (Iterator<Node> it = nodes.values().iterator(); it.hasNext(); ) {
                Node n = it.next();
                if (n.role.equals(role) && !live.contains(n.ref)) {
                    it.remove();
                    forget(n, index);
                    core.failNode(n, "node " + n.address() + " left the cluster");
                }
            }
        }
        pollLoads(nodes, ctx);
    }

    private static void pollLoads(Map<ActorRef<NodeProtocol.Command>, Node> nodes, ActorContext<Msg> ctx) {
        for (Node n : nodes.values()) {
            if (!n.lost) { // an unreachable node not yet lost is polled too: its answer says the router still hears it
                ActorRef<NodeProtocol.Command> from = n.ref;
                ctx.ask(NodeProtocol.LoadReport.class, n.ref, Duration.ofSeconds(2), NodeProtocol.GetLoad::new,
                        (report, failure) -> report != null ? new Load(report, from) : new LoadFailed(from));
            }
        }
    }

    private static boolean any(Map<ActorRef<NodeProtocol.Command>, Node> nodes, String role, String model) {
        for (Node n : nodes.values()) {
            if (n.usable(role, model)) {
                return true;
            }
        }
        return false;
    }

    /** The dispatcher actor's request handling (its state lives on the actor's thread only). */
    private final class Core {
        final ActorContext<Msg> ctx;
        final Map<ActorRef<NodeProtocol.Command>, Node> nodes;
        final Map<RequestId, InFlight> requests;
        final Map<RequestId, Job> jobs;
        final ActorRef<GenerationEvent> events;
        final KvIndex index;
        final Hashing hashing;
        final java.util.LinkedHashSet<Job> parked = new java.util.LinkedHashSet<>(); // waiting for a node, oldest first
        /** Sticky sessions by key, least recently used first; at most {@code max-sessions}. */
        final Map<String, Sticky> sessions = new java.util.LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Sticky> eldest) {
                return size() > routing.sessions().maxSessions();
            }
        };
        String lastRefusal; // why the last dispatch found no node

        Core(ActorContext<Msg> ctx, Map<ActorRef<NodeProtocol.Command>, Node> nodes, Map<RequestId, InFlight> requests,
                Map<RequestId, Job> jobs, ActorRef<GenerationEvent> events, KvIndex index, Hashing hashing) {
            this.ctx = ctx;
            this.nodes = nodes;
            this.requests = requests;
            this.jobs = jobs;
            this.events = events;
            this.index = index;
            this.hashing = hashing;
        }

        void submit(Submit s) {
            if (jobs.containsKey(s.id()) || requests.containsKey(s.id())) {
                s.listener().onFailed("duplicate request id " + s.id().value(), false);
                return;
            }
            // a seed chosen here: a stream that migrates draws on the next node what it would have drawn here
            SamplingSpec spec = s.sampling().seed() != null ? s.sampling()
                    : withSeed(s.sampling(), ThreadLocalRandom.current().nextLong());
            Job job = new Job(s.id(), s.prompt(), spec, s.cacheSalt(), s.session(), s.model(), s.listener());
            String refused = dispatch(job, s.id());
            if (refused != null) {
                s.listener().onFailed(refused, true);
            } else {
                jobs.put(s.id(), job);
            }
        }

        /**
         * Routes one attempt at {@code job} (the prompt plus the tokens delivered so far); returns null when it
         * was sent, else why no node could take it.
         */
        private String dispatch(Job job, RequestId attempt) {
            int[] prompt = job.deliveredCount == 0 ? job.prompt : job.resumedPrompt();
            int resumed = job.deliveredCount;
            int positions = job.prompt.length + job.sampling.maxTokens();
            BlockHash[] prefix = hashing.prefix(prompt, job.cacheSalt, job.model);
            Sticky sticky = sticky(job);
            String model = job.model;
            if (any(nodes, "prefill", model) && any(nodes, "decode", model)) {
                Choice chosen = stick(sticky == null ? null : sticky.node, "decode", positions, prefix, model);
                if (chosen == null) {
                    chosen = chooseByPrefix(nodes, "decode", positions, prefix, index, model);
                }
                if (chosen != null && chosen.cachedTokens() > 0
                        && prompt.length - chosen.cachedTokens() <= routing.decodePrefillThreshold()) {
                    // the decode node holds all of the prompt but a short remainder: it computes that itself
                    metrics.decided("decode", "local");
                    runWhole(job, attempt, prompt, chosen, positions);
                    remember(job, chosen.node(), sticky == null ? null : sticky.prefill);
                    return null;
                }
                Node decode = chosen == null ? null : chosen.node();
                Choice prefill = decode == null ? null : stick(sticky == null ? null : sticky.prefill, "prefill",
                        prompt.length, prefix, model);
                if (decode != null && prefill == null) {
                    prefill = chooseByPrefix(nodes, "prefill", prompt.length, prefix, index, model);
                }
                if (decode == null || prefill == null) {
                    return (decode == null ? "no decode node" : "no prefill node") + " has KV room for this request now";
                }
                metrics.decided("decode", chosen.reason());
                metrics.decided("prefill", prefill.reason());
                TransferId transfer = new TransferId(ThreadLocalRandom.current().nextLong());
                InFlight f = new InFlight(job, attempt, null, prefill.node, decode, decode.blocksFor(positions),
                        prefill.node.blocksFor(prompt.length));
                admit(f, decode, f.blocks);
                admit(f, prefill.node, f.prefillBlocks);
                queue(f, prefill, prompt.length);
                requests.put(attempt, f);
                job.current = f;
                decode.ref.tell(new NodeProtocol.Reserve(attempt, transfer, prompt, job.sampling, job.cacheSalt,
                        prefill.node.ref, events, resumed));
                prefill.node.ref.tell(new NodeProtocol.Prefill(attempt, transfer, prompt, job.sampling, job.cacheSalt,
                        decode.ref, events, resumed));
                remember(job, decode, prefill.node);
                return null;
            }
            Choice worker = stick(sticky == null ? null : sticky.node, "worker", positions, prefix, model);
            if (worker == null) {
                worker = chooseByPrefix(nodes, "worker", positions, prefix, index, model);
            }
            if (worker == null) {
                return any(nodes, "worker", model) ? "no node has KV room for this request now"
                        : "no worker node, or prefill and decode pair, is ready" + (model == null ? "" : " for this model");
            }
            metrics.decided("worker", worker.reason());
            runWhole(job, attempt, prompt, worker, positions);
            remember(job, worker.node(), null);
            return null;
        }

        /** The session's last node(s), when the job has a session and it was not forgotten. */
        private Sticky sticky(Job job) {
            if (job.session == null) {
                return null;
            }
            Sticky st = sessions.get(job.session);
            if (st != null && System.nanoTime() - st.seenNanos > routing.sessions().idleTimeout().toNanos()) {
                sessions.remove(job.session);
                return null;
            }
            return st;
        }

        /**
         * {@code n}, the node of {@code role} that served the session's last request, when it can take this one:
         * still a member, usable, room for {@code positions}, within the herding guard. Else null.
         */
        private Choice stick(Node n, String role, int positions, BlockHash[] prefix, String model) {
            if (n == null || nodes.get(n.ref) != n || !n.usable(role, model) || !n.hasRoom(n.blocksFor(positions))) {
                return null;
            }
            int least = Integer.MAX_VALUE;
            for (Node o : nodes.values()) {
                if (o.usable(role, model)) {
                    least = Math.min(least, o.inFlight);
                }
            }
            if (n.inFlight > least + routing.maxImbalance()) {
                return null; // the herding guard wins over the session
            }
            int cached = prefix.length == 0 ? 0 : index.overlap(n.load.node(), prefix) * Math.max(1, n.load.blockSize());
            return new Choice(n, cached, "session");
        }

        /** The session of {@code job} goes on at {@code node} (decode node or worker) and {@code prefill}. */
        private void remember(Job job, Node node, Node prefill) {
            if (job.session != null) {
                sessions.put(job.session, new Sticky(node, prefill, System.nanoTime()));
            }
        }

        /** Sends the whole request to one node (a worker, or a decode node holding nearly all of the prompt). */
        private void runWhole(Job job, RequestId attempt, int[] prompt, Choice c, int positions) {
            InFlight f = new InFlight(job, attempt, c.node(), null, null, c.node().blocksFor(positions), 0);
            admit(f, c.node(), f.blocks);
            queue(f, c, prompt.length);
            requests.put(attempt, f);
            job.current = f;
            c.node().ref.tell(new NodeProtocol.Generate(attempt, prompt, job.sampling, job.cacheSalt, events,
                    job.deliveredCount));
        }

        /** Delivers one event, in completion order; returns true when it ended its attempt. */
        boolean onEvent(GenerationEvent e) {
            InFlight f = requests.get(e.requestId());
            if (f == null) {
                return false; // a late event of an attempt already ended (its node was lost, the stream moved on)
            }
            switch (e) {
                case GenerationEvent.Prefilled p -> {
                    f.started = true;
                    if (!f.job.prefilledReported) {
                        f.job.prefilledReported = true;
                        f.listener.onPrefilled(p.promptTokens(), p.cachedTokens());
                    }
                }
                case GenerationEvent.Tokens t -> {
                    f.started = true;
                    if (t.index() > f.nextIndex) {
                        f.early.put(t.index(), t); // the decode node's tokens overtook the prefill node's first
                        return false;
                    }
                    if (t.index() < f.nextIndex) {
                        return false; // cannot happen: each index is sent once per attempt
                    }
                    deliver(f, t);
                    GenerationEvent.Tokens next;
                    while ((next = f.early.remove(f.nextIndex)) != null) {
                        deliver(f, next);
                    }
                    if (f.finished != null && f.nextIndex >= f.finished.completionTokens()) {
                        finish(f, f.finished);
                        return true;
                    }
                }
                case GenerationEvent.Finished d -> {
                    if (f.nextIndex < d.completionTokens()) {
                        f.finished = d;
                        return false;
                    }
                    finish(f, d);
                    return true;
                }
                case GenerationEvent.Failed x -> {
                    end(f.attempt, requests);
                    tellNodes(f, new NodeProtocol.Cancel(f.attempt, x.reason()));
                    if (x.retryable() && f.started) {
                        migrate(f, "node-failed", x.reason());
                    } else {
                        jobs.remove(f.job.client);
                        f.listener.onFailed(x.reason(), x.retryable());
                    }
                    return true;
                }
            }
            return false;
        }

        private void finish(InFlight f, GenerationEvent.Finished d) {
            end(f.attempt, requests);
            jobs.remove(f.job.client);
            if (f.decode != null && d.completionTokens() <= f.resumed + 1) {
                // finished with the prefill node's first token: the decode node's reservation is not needed
                f.decode.ref.tell(new NodeProtocol.Cancel(f.attempt, "the request finished on the prefill node"));
            }
            f.listener.onFinished(d.finishReason(), d.text(), d.promptTokens(), d.completionTokens());
        }

        /** {@code n} is lost: every attempt that needs it moves to other nodes, or fails (retryable). */
        void failNode(Node n, String reason) {
            List<InFlight> lost = new ArrayList<>();
            for (InFlight f : requests.values()) {
                if (f.uses(n)) {
                    lost.add(f);
                }
            }
            for (InFlight f : lost) {
                end(f.attempt, requests);
                // every node of the attempt, the lost one too: a node that was only frozen (or whose loop was stuck)
                // may come back, and must then free the attempt's blocks instead of holding them for its timeouts
                tellNodes(f, new NodeProtocol.Cancel(f.attempt, reason));
                migrate(f, n == f.prefill ? "prefill-lost" : "node-lost", reason);
            }
        }

        /**
         * A node's load report says its engine loop is stuck, or moves again. Stuck, it gets no new requests
         * ({@link Node#usable}) and its streams move as a lost node's do ({@link #failNode}); the node is told to
         * cancel them, so that it frees their blocks if its loop moves again. Recovered, it is chosen again.
         */
        void stuckChanged(Node n) {
            String id = n.load.node().value();
            if (!n.load.stuck()) {
                ctx.getLog().info("node {} moves again: it gets new requests again", id);
                return;
            }
            String reason = "node " + id + " is stuck: its engine loop has made no progress for "
                    + n.load.stuckMillis() + " ms";
            ctx.getLog().warn("{}; no new requests go to it and its streams move", reason);
            failNode(n, reason);
        }

        /**
         * Routes the request of the ended attempt {@code f} again, from the tokens its client has, or fails it
         * (retryable) when it was cancelled, has moved too often, or no node can take it.
         */
        private void migrate(InFlight f, String tag, String reason) {
            Job job = f.job;
            if (job.cancelled || job.migrations >= routing.maxMigrations()) {
                jobs.remove(job.client);
                job.listener.onFailed(reason, true);
                return;
            }
            job.migrations++;
            if (!moveOn(job, tag, reason)) {
                if (routing.migrationWait().isZero()) {
                    jobs.remove(job.client);
                    job.listener.onFailed(reason + "; no node could take the stream over: " + lastRefusal, true);
                    return;
                }
                job.parkedUntil = Math.max(1, System.nanoTime() + routing.migrationWait().toNanos());
                job.parkedReason = reason;
                job.parkedTag = tag;
                parked.add(job);
                ctx.getLog().info("{} waits up to {} for a node to take it over after {} token(s) ({}: {}; {})",
                        job.client, routing.migrationWait(), job.deliveredCount, tag, reason, lastRefusal);
            }
        }

        /** Routes the next attempt of {@code job}; false when no node can take it now ({@link #lastRefusal} says why). */
        private boolean moveOn(Job job, String tag, String reason) {
            RequestId attempt = new RequestId(ThreadLocalRandom.current().nextLong());
            lastRefusal = dispatch(job, attempt);
            if (lastRefusal != null) {
                return false;
            }
            metrics.migrated(tag);
            InFlight next = job.current;
            Node to = next.worker != null ? next.worker : next.decode;
            ctx.getLog().info("{} moves to {} as {} after {} token(s) ({}: {})", job.client, to.address(), attempt,
                    job.deliveredCount, tag, reason);
            return true;
        }

        /**
         * The streams waiting for a node (in the order they began to wait) try again: those that a node can take
         * now move on; those whose wait is over fail (retryable); a cancelled one has left already.
         */
        void retryParked() {
            if (parked.isEmpty()) {
                return;
            }
            long now = System.nanoTime();
            for (Iterator<Job> it = parked.iterator(); it.hasNext(); ) {
                Job job = it.next();
                if (jobs.get(job.client) != job) {
                    it.remove(); // cancelled while it waited
                } else if (moveOn(job, job.parkedTag, job.parkedReason)) {
                    job.parkedUntil = 0;
                    it.remove();
                } else if (now - job.parkedUntil >= 0) {
                    it.remove();
                    jobs.remove(job.client);
                    job.listener.onFailed(job.parkedReason + "; no node could take the stream over within "
                            + routing.migrationWait() + ": " + lastRefusal, true);
                }
            }
        }

        /**
         * {@code n} is marked unreachable: it is lost for this router (its attempts move) once it has also been
         * silent to this router's load polls for {@link RoutingSettings#lostAfterSilence()}; until then it only gets
         * no new requests. A node that wakes from a pause marks every other node unreachable for a moment: the
         * streams on the nodes this router still hears from stay where they are.
         */
        void checkLost(Node n) {
            if (n.lost || System.nanoTime() - n.heardNanos < routing.lostAfterSilence().toNanos()) {
                return;
            }
            n.lost = true;
            failNode(n, "node " + n.address() + " is unreachable");
        }
    }

    /** Where a session's last request went: its decode node or worker, and its prefill node (or null). */
    private record Sticky(Node node, Node prefill, long seenNanos) {}

    /**
     * A node chosen for a request, how many of the prompt's tokens it is believed to hold, and why it
     * was chosen ({@code prefix}, {@code load}, {@code guard}: see {@link RoutingMetrics}).
     */
    private record Choice(Node node, int cachedTokens, String reason) {}

    private static void queue(InFlight f, Choice c, int promptTokens) {
        f.queuedTokens = Math.max(0, promptTokens - c.cachedTokens());
        c.node().queuedTokens += f.queuedTokens;
    }

    /**
     * KV-aware choice (see {@link RoutingSettings}): among usable nodes of {@code role} with room for
     * {@code positions}, and within the herding guard, the lowest cost minus cache benefit. The cost of
     * a prefill or worker node is the prompt tokens it has queued; that of a decode node, its requests.
     */
    private Choice chooseByPrefix(Map<ActorRef<NodeProtocol.Command>, Node> nodes, String role, int positions,
            BlockHash[] prefix, KvIndex index, String model) {
        int least = Integer.MAX_VALUE;
        for (Node n : nodes.values()) {
            if (n.usable(role, model)) {
                least = Math.min(least, n.inFlight);
            }
        }
        Node best = null;
        int bestCached = 0;
        double bestCost = Double.MAX_VALUE;
        int mostCachedAnywhere = 0;
        for (Node n : nodes.values()) {
            if (!n.usable(role, model) || !n.hasRoom(n.blocksFor(positions))) {
                continue; // nodes of another model never count: their blocks hash from another root anyway
            }
            int cached = prefix.length == 0 ? 0 : index.overlap(n.load.node(), prefix) * Math.max(1, n.load.blockSize());
            mostCachedAnywhere = Math.max(mostCachedAnywhere, cached);
            if (n.inFlight > least + routing.maxImbalance()) {
                continue; // the herding guard
            }
            double cost = (role.equals("decode") ? routing.decodeLoadWeight() * n.score()
                    : routing.queueWeight() * n.queuedTokens) - routing.cacheWeight() * cached;
            if (best == null || cost < bestCost || (cost == bestCost && n.score() < best.score())) {
                best = n;
                bestCached = cached;
                bestCost = cost;
            }
        }
        if (best == null) {
            return null;
        }
        return new Choice(best, bestCached, bestCached > 0 ? "prefix" : mostCachedAnywhere > 0 ? "guard" : "load");
    }

    /**
     * Hashes prompts the way the nodes do, per model: each model's hasher is learnt from the first load report of a
     * node of that model (its fingerprint, the root of every chain, and its block size), so blocks of different models
     * never share a hash.
     */
    private static final class Hashing {
        private final Map<String, BlockHasher> byModel = new HashMap<>();
        private BlockHasher first; // the first model learnt: for requests that name none (a router serving one model)

        void learn(NodeProtocol.LoadReport r) {
            if (r.model() != null && !r.model().isEmpty() && r.blockSize() > 0 && !byModel.containsKey(r.model())) {
                BlockHasher h = new BlockHasher(ModelFingerprint.parse(r.model()), "", r.blockSize());
                byModel.put(r.model(), h);
                if (first == null) {
                    first = h;
                }
            }
        }

        /**
         * The hashes of the prompt's full blocks that a node of {@code model} (null: the first model learnt) could
         * reuse (the last prompt position is always computed).
         */
        BlockHash[] prefix(int[] prompt, String cacheSalt, String model) {
            BlockHasher hasher = model == null ? first : byModel.get(model);
            if (hasher == null || prompt.length < 2) {
                return new BlockHash[0];
            }
            int blocks = (prompt.length - 1) / hasher.blockSize();
            return hasher.hashFullBlocks(hasher.root(cacheSalt), prompt, blocks * hasher.blockSize());
        }
    }

    private static void admit(InFlight f, Node n, int blocks) {
        n.inFlight++;
        n.reservedBlocks += blocks;
        if (n == f.prefill) {
            f.prefillEpoch = n.loadEpoch;
        } else {
            f.decodeEpoch = n.loadEpoch;
        }
    }

    /**
     * A request's blocks are free again on {@code n}: if no load report came since they were counted,
     * take them off the node's reserved count (a later report would not show them either).
     */
    private static void unreserve(Node n, int epoch, int blocks) {
        if (n.loadEpoch == epoch) {
            n.reservedBlocks = Math.max(0, n.reservedBlocks - blocks);
        }
    }

    static SamplingSpec withSeed(SamplingSpec s, long seed) {
        return new SamplingSpec(s.temperature(), s.topK(), s.topP(), s.minP(), seed, s.repetitionPenalty(),
                s.frequencyPenalty(), s.presencePenalty(), s.maxTokens(), s.stopTokenIds(), s.stopStrings(), s.logprobs(),
                s.ignoreEos());
    }

    private static void deliver(InFlight f, GenerationEvent.Tokens t) {
        f.job.delivered(t.tokenIds());
        f.listener.onTokens(t.tokenIds(), t.text(), t.logprobs());
        f.nextIndex = t.index() + t.tokenIds().length;
        f.promptDone();
        if (f.prefill != null && !f.prefillReleased) {
            f.prefillReleased = true; // the prefill node's part is done: its loss no longer fails this request
            f.prefill.inFlight--;
        }
    }

    private static void tellNodes(InFlight f, NodeProtocol.Command c) {
        for (Node n : new Node[] {f.worker, f.prefill, f.decode}) {
            if (n != null) {
                n.ref.tell(c);
            }
        }
    }

    private static void end(RequestId id, Map<RequestId, InFlight> requests) {
        InFlight f = requests.remove(id);
        if (f == null) {
            return;
        }
        f.promptDone();
        for (Node n : new Node[] {f.worker, f.decode}) {
            if (n != null) {
                n.inFlight--;
                unreserve(n, f.decodeEpoch, f.blocks);
            }
        }
        if (f.prefill != null) {
            if (!f.prefillReleased) {
                f.prefillReleased = true;
                f.prefill.inFlight--;
            }
            unreserve(f.prefill, f.prefillEpoch, f.prefillBlocks);
        }
    }

    private void publish(Map<ActorRef<NodeProtocol.Command>, Node> nodes, KvIndex index) {
        List<NodeView> v = new ArrayList<>();
        for (Node n : nodes.values()) {
            NodeProtocol.LoadReport l = n.load;
            v.add(new NodeView(l == null ? n.ref.path().name() : l.node().value(), n.address().toString(), n.role,
                    n.reachable, n.draining, l == null ? 0 : l.running(), l == null ? 0 : l.waiting(), l == null ? 0 : l.freeBlocks(),
                    l == null ? 0 : l.totalBlocks(), l == null ? 0 : l.blockSize(), n.inFlight,
                    l == null ? 0 : l.generatedTokens(), l == null ? "" : l.kvEndpoint(),
                    l == null ? 0 : index.size(l.node()), l == null ? 0 : l.queueNanos(), l == null ? 0 : l.computeNanos(),
                    l == null ? 0 : l.stuckMillis(), l == null || l.model() == null ? "" : l.model()));
        }
        view = List.copyOf(v);
    }
}
