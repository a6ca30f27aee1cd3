package dev.baton.common.protocol;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * What every engine node actor (worker, prefill, decode) does alike: registers under its role's key,
 * binds its KV event log to the cluster topic, answers {@link NodeProtocol.GetLoad},
 * {@link NodeProtocol.GetKvState} and {@link NodeProtocol.Cancel}, remembers who asked for which
 * request (one death watch per requester: a requester that stops has its requests cancelled), and
 * turns a submission's outcome into the requester's answer. A role adds its own messages to
 * {@link #commonReceive()} and implements the abstract methods.
 */
public abstract class NodeActor extends AbstractBehavior<NodeProtocol.Command> {

    /** Local: a watched requester stopped. */
    private record RequesterStopped(ActorRef<GenerationEvent> requester) implements NodeProtocol.Command {}

    /** Local: a member left the cluster (its requesters stopped). */
    private record MemberGone(ClusterEvent.MemberRemoved removed) implements NodeProtocol.Command {}

    /** Local: a request ended on this node (sent by the engine loop's listener or the role's own parts). */
    public record RequestEnded(RequestId requestId) implements NodeProtocol.Command {}

    /**
     * Local (the node's coordinated shutdown): start draining. The node announces it on
     * {@link NodeProtocol#DRAINING_TOPIC} and in its load reports, so routers stop choosing it; requests
     * that still reach it are served; {@code whenIdle} hears {@link Done} once none is left ({@link #idle()}) and
     * at least {@code settle} has passed since the drain began: requests that routers sent before they heard
     * of the drain (a load poll later at most, when the announcement is slower) still find the node serving.
     */
    public record BeginDrain(ActorRef<Done> whenIdle, Duration settle) implements NodeProtocol.Command {}

    /** Local: look again whether a draining node is idle. */
    private enum DrainCheck implements NodeProtocol.Command { INSTANCE }

    /** How often a draining node looks whether it is idle. */
    private static final Duration DRAIN_CHECK_INTERVAL = Duration.ofMillis(50);

    protected final NodeId nodeId;
    protected final Requesters<NodeProtocol.Command> requesters;
    private final ActorRef<Topic.Command<NodeProtocol.Draining>> drainingTopic;
    private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();
    private boolean draining;
    private long drainSettledNs;

    protected NodeActor(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, ServiceKey<NodeProtocol.Command> key,
            KvEvents.Log kvEvents) {
        super(ctx);
        this.nodeId = nodeId;
        this.requesters = new Requesters<>(ctx, RequesterStopped::new);
        if (Requesters.clustered(ctx)) {
            Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(
                    ctx.messageAdapter(ClusterEvent.MemberRemoved.class, MemberGone::new), ClusterEvent.MemberRemoved.class));
        }
        kvEvents.bind(ctx);
        this.drainingTopic = ctx.spawn(Topic.create(NodeProtocol.Draining.class, NodeProtocol.DRAINING_TOPIC),
                "draining-topic");
        ctx.getSystem().receptionist().tell(Receptionist.register(key, ctx.getSelf()));
    }

    /**
     * Whether no request is left on this node (a draining node then leaves the cluster). Roles that hold
     * work outside {@link #requesters} (a prefill node's shipments) override this and call it.
     */
    protected boolean idle() {
        return requesters.size() == 0;
    }

    /** Whether this node drains (its load reports say so). */
    protected final boolean draining() {
        return draining;
    }

    private void onBeginDrain(BeginDrain b) {
        drainWaiters.add(b.whenIdle());
        if (!draining) {
            draining = true;
            drainSettledNs = System.nanoTime() + b.settle().toNanos();
            getContext().getLog().info("{} drains: no new requests are routed to it; it leaves once its {} request(s) "
                    + "are done", nodeId.value(), requesters.size());
            drainingTopic.tell(Topic.publish(new NodeProtocol.Draining(nodeId, getContext().getSelf())));
        }
        checkDrained();
    }

    private void checkDrained() {
        if (!draining || drainWaiters.isEmpty()) {
            return;
        }
        if (idle() && System.nanoTime() - drainSettledNs >= 0) {
            getContext().getLog().info("{} drained: no request left", nodeId.value());
            drainWaiters.forEach(w -> w.tell(Done.getInstance()));
            drainWaiters.clear();
        } else {
            getContext().scheduleOnce(DRAIN_CHECK_INTERVAL, getContext().getSelf(), DrainCheck.INSTANCE);
        }
    }

    /** Cancels a request wherever it is on this node; its requester hears a {@link GenerationEvent.Failed}. */
    protected abstract void cancel(RequestId id, String reason);

    /** The node's load as routers see it. */
    protected abstract NodeProtocol.LoadReport load();

    /** Answers a resync with the node's KV state (read on the engine loop's thread). */
    protected abstract void sendKvState(ActorRef<KvEvents.State> replyTo);

    /** A request ended on this node; roles that keep more per request override this (and call it). */
    protected void ended(RequestId id) {
        requesters.ended(id);
    }

    /** The handlers every role shares; a role adds its own messages, then {@code build()}. */
    protected ReceiveBuilder<NodeProtocol.Command> commonReceive() {
        return newReceiveBuilder()
                .onMessage(NodeProtocol.Cancel.class, c -> {
                    cancel(c.requestId(), c.reason());
                    return this;
                })
                .onMessage(NodeProtocol.GetLoad.class, g -> {
                    NodeProtocol.LoadReport report = load();
                    g.replyTo().tell(draining ? report.asDraining() : report);
                    return this;
                })
                .onMessage(BeginDrain.class, b -> {
                    onBeginDrain(b);
                    return this;
                })
                .onMessage(DrainCheck.class, c -> {
                    checkDrained();
                    return this;
                })
                .onMessage(NodeProtocol.Drain.class, d -> {
                    getContext().getLog().info("{}: drain asked ({})", nodeId.value(), d.reason());
                    CoordinatedShutdown.get(getContext().getSystem()).run(DrainRequested.INSTANCE);
                    return this;
                })
                .onMessage(NodeProtocol.GetKvState.class, g -> {
                    sendKvState(g.replyTo());
                    return this;
                })
                .onMessage(MemberGone.class, g -> {
                    for (ActorRef<GenerationEvent> requester : requesters.memberRemoved(g.removed().member().uniqueAddress())) {
                        for (RequestId id : requesters.stopped(requester)) {
                            cancel(id, "requester stopped: its node " + g.removed().member().address() + " left the cluster");
                        }
                    }
                    return this;
                })
                .onMessage(RequesterStopped.class, r -> {
                    for (RequestId id : requesters.stopped(r.requester())) {
                        cancel(id, "requester stopped");
                    }
                    return this;
                })
                .onMessage(RequestEnded.class, r -> {
                    ended(r.requestId());
                    return this;
                })
                .onSignal(PostStop.class, s -> this);
    }

    /**
     * Submits a request for {@code to}: a duplicate id is refused; {@code submission} returns null when
     * the engine accepted the request, or the reason it refused it for now (overloaded, shutting down:
     * retryable); an exception it throws (bad input) is answered as not retryable.
     *
     * @return null when the request was accepted, else the reason the requester was told
     */
    protected final String submit(RequestId id, ActorRef<GenerationEvent> to, Supplier<String> submission) {
        if (requesters.isActive(id)) {
            String reason = "request id " + id.value() + " is already running on " + nodeId.value();
            to.tell(new GenerationEvent.Failed(id, reason, false));
            return reason;
        }
        String refusal;
        try {
            refusal = submission.get();
        } catch (RuntimeException e) {
            String reason = e.getMessage() == null ? e.toString() : e.getMessage();
            to.tell(new GenerationEvent.Failed(id, reason, false));
            return reason;
        }
        if (refusal == null) {
            requesters.add(id, to);
        } else {
            to.tell(new GenerationEvent.Failed(id, refusal, true));
        }
        return refusal;
    }

    /** The reason of a coordinated shutdown that a {@link NodeProtocol.Drain} started. */
    public enum DrainRequested implements CoordinatedShutdown.Reason { INSTANCE }
}
