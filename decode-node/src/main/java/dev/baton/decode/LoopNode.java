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
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * A node actor in front of one {@link EngineLoop} that runs whole requests ({@link NodeProtocol.Generate}):
 * the worker, and the decode node (which runs a request whole when the router finds that it holds
 * all of the prompt but a short remainder). Cancels and KV state go to the loop.
 */
abstract class LoopNode extends NodeActor {

    protected final Engine engine;
    protected final EngineLoop loop;
    protected final KvEventFeed kvEvents;

    LoopNode(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, ServiceKey<NodeProtocol.Command> key, Engine engine,
            EngineLoop loop, KvEventFeed kvEvents) {
        super(ctx, nodeId, key, kvEvents.log());
        this.engine = engine;
        this.loop = loop;
        this.kvEvents = kvEvents;
    }

    @Override
    protected final void cancel(RequestId id, String reason) {
        loop.cancel(id, reason);
    }

    @Override
    protected final void sendKvState(ActorRef<KvEvents.State> replyTo) {
        loop.execute(() -> replyTo.tell(kvEvents.state()));
    }

    /** Runs a whole request in the loop; its events go straight from the loop's thread to the requester. */
    protected final Behavior<NodeProtocol.Command> onGenerate(NodeProtocol.Generate g) {
        RequestId id = g.requestId();
        ActorRef<NodeProtocol.Command> self = getContext().getSelf();
        submit(id, g.replyTo(), () -> loop.submit(new GenerationRequest(id, g.promptTokens(),
                SamplingParams.fromSpec(g.sampling()), g.cacheSalt(), g.resumed()), new EventRelay(id, g.replyTo()::tell,
                () -> self.tell(new RequestEnded(id)), g.resumed())).refusal(nodeId.value()));
        return this;
    }
}
