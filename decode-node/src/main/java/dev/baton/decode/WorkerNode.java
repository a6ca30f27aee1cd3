package dev.baton.decode;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.WorkerProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.GenerationListener;
import dev.baton.engine.sched.GenerationRequest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.Map;
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
 * batching {@link EngineLoop}. Registers under {@link WorkerProtocol#SERVICE_KEY}; each request's
 * events go straight from the engine loop's thread to the requester ({@code ActorRef.tell} is
 * thread-safe). When a requester stops (router gone, client gone), its requests are cancelled and
 * their blocks freed.
 */
public final class WorkerNode extends AbstractBehavior<WorkerProtocol.Command> {

    /** Local messages (never cross nodes). */
    private sealed interface Internal extends WorkerProtocol.Command {}

    private record RequesterStopped(ActorRef<GenerationEvent> requester) implements Internal {}

    private record RequestEnded(RequestId requestId) implements Internal {}

    private final NodeId nodeId;
    private final Engine engine;
    private final EngineLoop loop;
    private final Map<RequestId, ActorRef<GenerationEvent>> active = new HashMap<>();
    /** Requests per requester: one watch per requester (a router sends many requests from one actor). */
    private final Map<ActorRef<GenerationEvent>, Set<RequestId>> byRequester = new HashMap<>();

    /** The worker, restarted on failure (its requests live in the engine loop, not in the actor). */
    public static Behavior<WorkerProtocol.Command> create(NodeId nodeId, Engine engine, EngineLoop loop) {
        return Behaviors.supervise(Behaviors.<WorkerProtocol.Command>setup(ctx -> new WorkerNode(ctx, nodeId, engine, loop)))
                .onFailure(SupervisorStrategy.restart());
    }

    private WorkerNode(ActorContext<WorkerProtocol.Command> ctx, NodeId nodeId, Engine engine, EngineLoop loop) {
        super(ctx);
        this.nodeId = nodeId;
        this.engine = engine;
        this.loop = loop;
        ctx.getSystem().receptionist().tell(Receptionist.register(WorkerProtocol.SERVICE_KEY, ctx.getSelf()));
    }

    @Override
    public Receive<WorkerProtocol.Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(WorkerProtocol.Generate.class, this::onGenerate)
                .onMessage(WorkerProtocol.Cancel.class, c -> {
                    loop.cancel(c.requestId(), c.reason());
                    return this;
                })
                .onMessage(WorkerProtocol.GetLoad.class, g -> {
                    g.replyTo().tell(load());
                    return this;
                })
                .onMessage(RequesterStopped.class, r -> {
                    Set<RequestId> ids = byRequester.remove(r.requester());
                    if (ids != null) {
                        for (RequestId id : ids) {
                            loop.cancel(id, "requester stopped");
                        }
                    }
                    return this;
                })
                .onMessage(RequestEnded.class, r -> {
                    ActorRef<GenerationEvent> to = active.remove(r.requestId());
                    Set<RequestId> ids = to == null ? null : byRequester.get(to);
                    if (ids != null) {
                        ids.remove(r.requestId());
                        if (ids.isEmpty()) {
                            byRequester.remove(to);
                            getContext().unwatch(to);
                        }
                    }
                    return this;
                })
                .onSignal(PostStop.class, s -> this)
                .build();
    }

    public WorkerProtocol.LoadReport load() {
        return new WorkerProtocol.LoadReport(nodeId, "worker", loop.runningCount(), loop.waitingCount(),
                engine.pool().freeBlockCount(), engine.pool().blockCount(), engine.pool().spec().blockSize(),
                loop.generatedTokens());
    }

    private Behavior<WorkerProtocol.Command> onGenerate(WorkerProtocol.Generate g) {
        ActorRef<GenerationEvent> to = g.replyTo();
        RequestId id = g.requestId();
        if (active.containsKey(id)) {
            to.tell(new GenerationEvent.Failed(id, "request id " + id.value() + " is already running on " + nodeId.value(),
                    false));
            return this;
        }
        EngineLoop.SubmitResult result;
        try {
            SamplingParams params = SamplingParams.fromSpec(g.sampling());
            result = loop.submit(new GenerationRequest(id, g.promptTokens(), params), new Relay(id, to,
                    getContext().getSelf()));
        } catch (EngineException | IllegalArgumentException e) {
            to.tell(new GenerationEvent.Failed(id, e.getMessage(), false));
            return this;
        }
        switch (result) {
            case ACCEPTED -> {
                active.put(id, to);
                byRequester.computeIfAbsent(to, k -> {
                    getContext().watchWith(k, new RequesterStopped(k));
                    return new HashSet<>();
                }).add(id);
            }
            case QUEUE_FULL -> to.tell(new GenerationEvent.Failed(id, "node " + nodeId.value() + " is overloaded", true));
            case CLOSED -> to.tell(new GenerationEvent.Failed(id, "node " + nodeId.value() + " is shutting down", true));
        }
        return this;
    }

    /** Forwards one request's engine output to its requester; runs on the engine loop thread. */
    private record Relay(RequestId id, ActorRef<GenerationEvent> to, ActorRef<WorkerProtocol.Command> node)
            implements GenerationListener {

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {
            to.tell(new GenerationEvent.Prefilled(id, promptTokens, cachedTokens));
        }

        @Override
        public void onToken(int tokenId, String text) {
            to.tell(new GenerationEvent.Tokens(id, new int[] {tokenId}, text));
        }

        @Override
        public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
            to.tell(new GenerationEvent.Finished(id, reason.wireName(), text, promptTokens, completionTokens));
            node.tell(new RequestEnded(id));
        }

        @Override
        public void onFailed(String reason) {
            to.tell(new GenerationEvent.Failed(id, reason, false));
            node.tell(new RequestEnded(id));
        }
    }
}
