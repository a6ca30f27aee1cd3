package dev.baton.decode;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.common.protocol.Requesters;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.EventRelay;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.engine.sched.GenerationRequest;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * A node that runs whole requests (role {@code worker}): prefill and decode in one continuous-
 * batching {@link EngineLoop}. Registers under {@link NodeProtocol#WORKER_KEY}; each request's
 * events go straight from the engine loop's thread to the requester ({@code ActorRef.tell} is
 * thread-safe). When a requester stops (router gone, client gone), its requests are cancelled and
 * their blocks freed.
 */
public final class WorkerNode extends AbstractBehavior<NodeProtocol.Command> {

    /** Local messages (never cross nodes). */
    private sealed interface Internal extends NodeProtocol.Command {}

    private record RequesterStopped(ActorRef<GenerationEvent> requester) implements Internal {}

    private record RequestEnded(RequestId requestId) implements Internal {}

    private final NodeId nodeId;
    private final Engine engine;
    private final EngineLoop loop;
    private final Requesters<NodeProtocol.Command> requesters;
    private final KvEventFeed kvEvents;

    /** The worker, restarted on failure (its requests live in the engine loop, not in the actor). */
    public static Behavior<NodeProtocol.Command> create(NodeId nodeId, Engine engine, EngineLoop loop,
            KvEventFeed kvEvents) {
        return Behaviors.supervise(Behaviors.<NodeProtocol.Command>setup(ctx -> new WorkerNode(ctx, nodeId, engine, loop,
                kvEvents)))
                .onFailure(SupervisorStrategy.restart());
    }

    private WorkerNode(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, Engine engine, EngineLoop loop,
            KvEventFeed kvEvents) {
        super(ctx);
        this.nodeId = nodeId;
        this.engine = engine;
        this.loop = loop;
        this.requesters = new Requesters<>(ctx, RequesterStopped::new);
        this.kvEvents = kvEvents;
        kvEvents.log().bind(ctx);
        ctx.getSystem().receptionist().tell(Receptionist.register(NodeProtocol.WORKER_KEY, ctx.getSelf()));
    }

    @Override
    public Receive<NodeProtocol.Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(NodeProtocol.Generate.class, this::onGenerate)
                .onMessage(NodeProtocol.Cancel.class, c -> {
                    loop.cancel(c.requestId(), c.reason());
                    return this;
                })
                .onMessage(NodeProtocol.GetKvState.class, g -> {
                    loop.execute(() -> g.replyTo().tell(kvEvents.state()));
                    return this;
                })
                .onMessage(NodeProtocol.GetLoad.class, g -> {
                    g.replyTo().tell(load());
                    return this;
                })
                .onMessage(RequesterStopped.class, r -> {
                    for (RequestId id : requesters.stopped(r.requester())) {
                        loop.cancel(id, "requester stopped");
                    }
                    return this;
                })
                .onMessage(RequestEnded.class, r -> {
                    requesters.ended(r.requestId());
                    return this;
                })
                .onSignal(PostStop.class, s -> this)
                .build();
    }

    public NodeProtocol.LoadReport load() {
        return new NodeProtocol.LoadReport(nodeId, "worker", loop.runningCount(), loop.waitingCount(),
                engine.pool().freeBlockCount(), engine.pool().blockCount(), engine.pool().spec().blockSize(),
                loop.generatedTokens(), "", engine.fingerprint().toString(),
                kvEvents.log().incarnation(), kvEvents.published());
    }

    private Behavior<NodeProtocol.Command> onGenerate(NodeProtocol.Generate g) {
        ActorRef<GenerationEvent> to = g.replyTo();
        RequestId id = g.requestId();
        if (requesters.isActive(id)) {
            to.tell(new GenerationEvent.Failed(id, "request id " + id.value() + " is already running on " + nodeId.value(),
                    false));
            return this;
        }
        EngineLoop.SubmitResult result;
        try {
            SamplingParams params = SamplingParams.fromSpec(g.sampling());
            ActorRef<NodeProtocol.Command> self = getContext().getSelf();
            result = loop.submit(new GenerationRequest(id, g.promptTokens(), params),
                    new EventRelay(id, to::tell, () -> self.tell(new RequestEnded(id))));
        } catch (EngineException | IllegalArgumentException e) {
            to.tell(new GenerationEvent.Failed(id, e.getMessage(), false));
            return this;
        }
        switch (result) {
            case ACCEPTED -> requesters.add(id, to);
            case QUEUE_FULL -> to.tell(new GenerationEvent.Failed(id, "node " + nodeId.value() + " is overloaded", true));
            case CLOSED -> to.tell(new GenerationEvent.Failed(id, "node " + nodeId.value() + " is shutting down", true));
        }
        return this;
    }
}
