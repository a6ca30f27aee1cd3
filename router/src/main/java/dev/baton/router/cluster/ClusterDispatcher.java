package dev.baton.router.cluster;

import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.SamplingSpec;
import dev.baton.common.protocol.WorkerProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The router's side of the cluster: which worker nodes exist (Receptionist), how loaded they are
 * (polled {@link WorkerProtocol.LoadReport}s), where each request runs, and what to do when a node
 * goes away (its in-flight requests fail at once, retryable, when the node becomes unreachable).
 *
 * <p>Choice: among reachable workers whose free KV blocks (minus what this router sent since their
 * last report) hold the request's prompt plus {@code max_tokens}, the one with the fewest running,
 * waiting and in-flight requests. With no room anywhere the request fails retryable (the HTTP
 * layer answers 503 with Retry-After).
 *
 * <p>Threading: {@link #submit}, {@link #cancel} and the getters are thread-safe; all state lives in
 * one actor; listeners are called on that actor's thread.
 */
public final class ClusterDispatcher {

    private sealed interface Msg {}

    private record Submit(RequestId id, int[] prompt, SamplingSpec sampling, DispatchListener listener) implements Msg {}

    private record CancelReq(RequestId id, String reason) implements Msg {}

    private record Listing(Receptionist.Listing listing) implements Msg {}

    private record Event(GenerationEvent event) implements Msg {}

    private record Load(WorkerProtocol.LoadReport report, ActorRef<WorkerProtocol.Command> from) implements Msg {}

    private record LoadFailed(ActorRef<WorkerProtocol.Command> from) implements Msg {}

    private record Member(ClusterEvent.MemberEvent event) implements Msg {}

    private record Reachability(ClusterEvent.ReachabilityEvent event) implements Msg {}

    private enum Poll implements Msg { INSTANCE }

    private static final class Node {
        final ActorRef<WorkerProtocol.Command> ref;
        WorkerProtocol.LoadReport load;
        boolean reachable = true;
        int inFlight;
        int reservedBlocks;

        Node(ActorRef<WorkerProtocol.Command> ref) {
            this.ref = ref;
        }

        Address address() {
            return ref.path().address();
        }
    }

    private record InFlight(DispatchListener listener, Node node, int blocks) {}

    private final ActorRef<Msg> actor;
    private volatile List<NodeView> view = List.of();

    public ClusterDispatcher(ActorSystem<?> system, Duration loadPollInterval) {
        this.actor = system.systemActorOf(Behaviors.setup(ctx -> behavior(ctx, loadPollInterval)),
                "cluster-dispatcher", org.apache.pekko.actor.typed.Props.empty());
    }

    /** Sends a request to the best worker; the outcome arrives through {@code listener}. */
    public void submit(RequestId id, int[] prompt, SamplingSpec sampling, DispatchListener listener) {
        actor.tell(new Submit(id, prompt, sampling, listener));
    }

    /** Cancels a request on its node (client gone, timeout); the listener hears {@code onFailed}. */
    public void cancel(RequestId id, String reason) {
        actor.tell(new CancelReq(id, reason));
    }

    /** True when at least one reachable worker has reported its load. */
    public boolean ready() {
        for (NodeView n : view) {
            if (n.reachable() && n.totalBlocks() > 0) {
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
        Map<ActorRef<WorkerProtocol.Command>, Node> nodes = new HashMap<>();
        Map<RequestId, InFlight> requests = new HashMap<>();
        ActorRef<GenerationEvent> events = ctx.messageAdapter(GenerationEvent.class, Event::new);
        ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, Listing::new);
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(WorkerProtocol.SERVICE_KEY, listings));
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
                        dispatch(s, nodes, requests, events);
                        publish(nodes);
                        return Behaviors.same();
                    })
                    .onMessage(CancelReq.class, c -> {
                        InFlight f = requests.get(c.id());
                        if (f != null) {
                            f.node.ref.tell(new WorkerProtocol.Cancel(c.id(), c.reason()));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Event.class, e -> {
                        if (onEvent(e.event(), requests)) {
                            publish(nodes);
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Listing.class, l -> {
                        Set<ActorRef<WorkerProtocol.Command>> live = new HashSet<>(
                                l.listing().getServiceInstances(WorkerProtocol.SERVICE_KEY));
                        for (ActorRef<WorkerProtocol.Command> r : live) {
                            nodes.computeIfAbsent(r, Node::new);
                        }
                        for (Iterator<Node> it = nodes.values().iterator(); it.hasNext(); ) {
                            Node n = it.next();
                            if (!live.contains(n.ref)) {
                                it.remove();
                                failNode(n, "node " + n.address() + " left the cluster", requests);
                            }
                        }
                        pollLoads(nodes, ctx);
                        publish(nodes);
                        return Behaviors.same();
                    })
                    .onMessage(Load.class, l -> {
                        Node n = nodes.get(l.from());
                        if (n != null) {
                            n.load = l.report();
                            n.reservedBlocks = 0;
                            publish(nodes);
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
                                if (!reachable) {
                                    failNode(n, "node " + a + " is unreachable", requests);
                                }
                            }
                        }
                        publish(nodes);
                        return Behaviors.same();
                    })
                    .onMessage(Member.class, m -> {
                        if (m.event() instanceof ClusterEvent.MemberRemoved || m.event() instanceof ClusterEvent.MemberDowned) {
                            Address a = m.event().member().address();
                            for (Iterator<Node> it = nodes.values().iterator(); it.hasNext(); ) {
                                Node n = it.next();
                                if (n.address().equals(a)) {
                                    it.remove();
                                    failNode(n, "node " + a + " is down", requests);
                                }
                            }
                            publish(nodes);
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Poll.class, p -> {
                        pollLoads(nodes, ctx);
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    private static void pollLoads(Map<ActorRef<WorkerProtocol.Command>, Node> nodes, ActorContext<Msg> ctx) {
        for (Node n : nodes.values()) {
            if (n.reachable) {
                ActorRef<WorkerProtocol.Command> from = n.ref;
                ctx.ask(WorkerProtocol.LoadReport.class, n.ref, Duration.ofSeconds(2), WorkerProtocol.GetLoad::new,
                        (report, failure) -> report != null ? new Load(report, from) : new LoadFailed(from));
            }
        }
    }

    private static void dispatch(Submit s, Map<ActorRef<WorkerProtocol.Command>, Node> nodes,
            Map<RequestId, InFlight> requests, ActorRef<GenerationEvent> events) {
        Node best = null;
        int need = 0;
        boolean anyReady = false;
        for (Node n : nodes.values()) {
            if (!n.reachable || n.load == null) {
                continue;
            }
            anyReady = true;
            int bs = Math.max(1, n.load.blockSize());
            int blocks = (s.prompt().length + s.sampling().maxTokens() + bs - 1) / bs;
            if (blocks > n.load.freeBlocks() - n.reservedBlocks) {
                continue;
            }
            if (best == null || score(n) < score(best)) {
                best = n;
                need = blocks;
            }
        }
        if (best == null) {
            s.listener().onFailed(anyReady ? "no node has KV room for this request now" : "no worker node is ready",
                    true);
            return;
        }
        if (requests.containsKey(s.id())) {
            s.listener().onFailed("duplicate request id " + s.id().value(), false);
            return;
        }
        best.inFlight++;
        best.reservedBlocks += need;
        requests.put(s.id(), new InFlight(s.listener(), best, need));
        best.ref.tell(new WorkerProtocol.Generate(s.id(), s.prompt(), s.sampling(), events));
    }

    private static int score(Node n) {
        return n.load.running() + n.load.waiting() + n.inFlight;
    }

    /** Delivers one event; returns true when it ended its request. */
    private static boolean onEvent(GenerationEvent e, Map<RequestId, InFlight> requests) {
        InFlight f = requests.get(e.requestId());
        if (f == null) {
            return false; // a late event of a request already ended (e.g. failed when its node became unreachable)
        }
        switch (e) {
            case GenerationEvent.Prefilled p -> f.listener.onPrefilled(p.promptTokens(), p.cachedTokens());
            case GenerationEvent.Tokens t -> f.listener.onTokens(t.tokenIds(), t.text());
            case GenerationEvent.Finished d -> {
                end(e.requestId(), requests);
                f.listener.onFinished(d.finishReason(), d.text(), d.promptTokens(), d.completionTokens());
            }
            case GenerationEvent.Failed x -> {
                end(e.requestId(), requests);
                f.listener.onFailed(x.reason(), x.retryable());
            }
        }
        return e instanceof GenerationEvent.Finished || e instanceof GenerationEvent.Failed;
    }

    private static void end(RequestId id, Map<RequestId, InFlight> requests) {
        InFlight f = requests.remove(id);
        if (f != null) {
            f.node.inFlight--;
        }
    }

    private static void failNode(Node n, String reason, Map<RequestId, InFlight> requests) {
        List<RequestId> lost = new ArrayList<>();
        for (Map.Entry<RequestId, InFlight> e : requests.entrySet()) {
            if (e.getValue().node == n) {
                lost.add(e.getKey());
            }
        }
        for (RequestId id : lost) {
            InFlight f = requests.remove(id);
            n.inFlight--;
            f.listener.onFailed(reason, true);
        }
    }

    private void publish(Map<ActorRef<WorkerProtocol.Command>, Node> nodes) {
        List<NodeView> v = new ArrayList<>();
        for (Node n : nodes.values()) {
            WorkerProtocol.LoadReport l = n.load;
            v.add(new NodeView(l == null ? n.ref.path().name() : l.node().value(), n.address().toString(),
                    l == null ? "worker" : l.role(), n.reachable, l == null ? 0 : l.running(), l == null ? 0 : l.waiting(),
                    l == null ? 0 : l.freeBlocks(), l == null ? 0 : l.totalBlocks(), l == null ? 0 : l.blockSize(),
                    n.inFlight, l == null ? 0 : l.generatedTokens()));
        }
        view = List.copyOf(v);
    }
}
