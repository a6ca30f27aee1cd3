package dev.baton.decode;

import dev.baton.common.NodeId;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
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
public final class WorkerNode extends LoopNode {

    /** The worker, restarted on failure (its requests live in the engine loop, not in the actor). */
    public static Behavior<NodeProtocol.Command> create(NodeId nodeId, Engine engine, EngineLoop loop,
            KvEventFeed kvEvents) {
        return Behaviors.supervise(Behaviors.<NodeProtocol.Command>setup(ctx -> new WorkerNode(ctx, nodeId, engine, loop,
                kvEvents))).onFailure(SupervisorStrategy.restart());
    }

    private WorkerNode(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, Engine engine, EngineLoop loop,
            KvEventFeed kvEvents) {
        super(ctx, nodeId, NodeProtocol.WORKER_KEY, engine, loop, kvEvents);
    }

    @Override
    public Receive<NodeProtocol.Command> createReceive() {
        return commonReceive().onMessage(NodeProtocol.Generate.class, this::onGenerate).build();
    }

    @Override
    public NodeProtocol.LoadReport load() {
        return new NodeProtocol.LoadReport(nodeId, "worker", loop.runningCount(), loop.waitingCount(),
                engine.pool().freeBlockCount(), engine.pool().blockCount(), engine.pool().spec().blockSize(),
                loop.generatedTokens(), "", engine.fingerprint().toString(),
                kvEvents.log().incarnation(), kvEvents.published()).withTimes(loop.queueNanos(), loop.computeNanos())
                .withStuckMillis(loop.stuckMillis());
    }
}
