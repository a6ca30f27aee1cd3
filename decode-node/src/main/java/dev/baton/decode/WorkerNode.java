package dev.baton.decode;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.KvEvents;
import dev.baton.common.protocol.NodeActor;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.EventRelay;
import dev.baton.engine.sched.GenerationRequest;
import dev.baton.engine.sched.KvEventFeed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * A node that runs whole requests (role {@code worker}): prefill and decode in one continuous-
 * batching {@link EngineLoop}. Registers under {@link NodeProtocol#WORKER_KEY}; each request's
 * events go straight from the engine loop's thread to the requester ({@code ActorRef.tell} is
 * thread-safe). When a requester stops (router gone, client gone), its requests are cancelled and
 * their blocks freed.
 */
public final class WorkerNode extends NodeActor {

    private final Engine engine;
    private final EngineLoop loop;
    private final KvEventFeed kvEvents;

    /** The worker, restarted on failure (its requests live in the engine loop, not in the actor). */
    public static Behavior<NodeProtocol.Command> create(NodeId nodeId, Engine engine, EngineLoop loop,
            KvEventFeed kvEvents) {
        return Behaviors.supervise(Behaviors.<NodeProtocol.Command>setup(ctx -> new WorkerNode(ctx, nodeId, engine, loop,
                kvEvents))).onFailure(SupervisorStrategy.restart());
    }

    private WorkerNode(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, Engine engine, EngineLoop loop,
            KvEventFeed kvEvents) {
        super(ctx, nodeId, NodeProtocol.WORKER_KEY, kvEvents.log());
        this.engine = engine;
        this.loop = loop;
        this.kvEvents = kvEvents;
    }

    @Override
    public Receive<NodeProtocol.Command> createReceive() {
        return commonReceive().onMessage(NodeProtocol.Generate.class, this::onGenerate).build();
    }

    @Override
    protected void cancel(RequestId id, String reason) {
        loop.cancel(id, reason);
    }

    @Override
    protected void sendKvState(ActorRef<KvEvents.State> replyTo) {
        loop.execute(() -> replyTo.tell(kvEvents.state()));
    }

    @Override
    public NodeProtocol.LoadReport load() {
        return new NodeProtocol.LoadReport(nodeId, "worker", loop.runningCount(), loop.waitingCount(),
                engine.pool().freeBlockCount(), engine.pool().blockCount(), engine.pool().spec().blockSize(),
                loop.generatedTokens(), "", engine.fingerprint().toString(),
                kvEvents.log().incarnation(), kvEvents.published());
    }

    private Behavior<NodeProtocol.Command> onGenerate(NodeProtocol.Generate g) {
        RequestId id = g.requestId();
        ActorRef<NodeProtocol.Command> self = getContext().getSelf();
        submit(id, g.replyTo(), () -> loop.submit(new GenerationRequest(id, g.promptTokens(),
                SamplingParams.fromSpec(g.sampling())), new EventRelay(id, g.replyTo()::tell,
                () -> self.tell(new RequestEnded(id)))).refusal(nodeId.value()));
        return this;
    }
}
