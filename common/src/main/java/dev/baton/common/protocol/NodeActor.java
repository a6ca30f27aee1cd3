package dev.baton.common.protocol;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
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

    /** Local: a request ended on this node (sent by the engine loop's listener or the role's own parts). */
    public record RequestEnded(RequestId requestId) implements NodeProtocol.Command {}

    protected final NodeId nodeId;
    protected final Requesters<NodeProtocol.Command> requesters;

    protected NodeActor(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, ServiceKey<NodeProtocol.Command> key,
            KvEvents.Log kvEvents) {
        super(ctx);
        this.nodeId = nodeId;
        this.requesters = new Requesters<>(ctx, RequesterStopped::new);
        kvEvents.bind(ctx);
        ctx.getSystem().receptionist().tell(Receptionist.register(key, ctx.getSelf()));
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
                    g.replyTo().tell(load());
                    return this;
                })
                .onMessage(NodeProtocol.GetKvState.class, g -> {
                    sendKvState(g.replyTo());
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
}
