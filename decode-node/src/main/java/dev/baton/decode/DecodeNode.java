package dev.baton.decode;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.EventRelay;
import dev.baton.engine.sched.GenerationRequest;
import dev.baton.engine.sched.ImportListener;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.engine.sched.KvImport;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import org.agrona.concurrent.AgentRunner;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * A decode node (role {@code decode}, docs/design.md §3): accepts {@link NodeProtocol.Reserve} and, once the
 * prefill node says it started the prompt ({@link NodeProtocol.PrefillStarted}: no blocks are held for a
 * prompt still queued there), reserves blocks for the prompt plus {@code max_tokens} in its {@link EngineLoop}, tells the prefill node
 * where to send the prompt's KV, receives it through kv-transfer straight into the reserved blocks,
 * checks every block's position and hash, and admits the sequence into its decode batch once the
 * blocks are verified and the first token has been handed over. Tokens from the second on go to the
 * requester.
 *
 * <p>With the prefix cache on, the blocks of the prompt's cached prefix that the node holds already are
 * not sent: {@link NodeProtocol.DecodeReady#heldBlocks()} tells the prefill node where to start. When
 * the router finds that the node holds all of a prompt but a short remainder, it sends the request
 * whole ({@link NodeProtocol.Generate}) and the node computes the remainder itself.
 *
 * <p>A cancelled request (router, client, requester gone, prefill node failed) frees its blocks once
 * no transport holds them; a reservation whose KV does not come in time is freed by the loop.
 */
public final class DecodeNode extends LoopNode {

    /** The node's kv-transfer side: a receiver on the transport, run on its own thread. */
    public static final class Intake implements AutoCloseable {
        final KvIntake listener = new KvIntake();
        final KvDestination destination;
        private final AgentRunner runner;

        /** Starts a receiver on {@code transport} for {@code engine}'s KV, on a thread of its own. */
        public Intake(AeronKvTransport transport, Engine engine) {
            KvReceiver receiver = transport.newReceiver(engine.compatibility(), listener);
            listener.attach(receiver);
            this.destination = transport.destination();
            this.runner = transport.startOnThread(receiver);
        }

        /** Transfers expected and not yet ended (reservations waiting for their KV). */
        public int expectedCount() {
            return listener.expectedCount();
        }

        @Override
        public void close() {
            runner.close();
        }
    }

    private final Intake intake;
    private final BlockHasher hasher;

    /** The decode node, restarted on failure (its requests live in the engine loop, not in the actor). */
    public static Behavior<NodeProtocol.Command> create(NodeId nodeId, Engine engine, EngineLoop loop, Intake intake,
            KvEventFeed kvEvents) {
        return Behaviors.supervise(Behaviors.<NodeProtocol.Command>setup(ctx -> new DecodeNode(ctx, nodeId, engine, loop,
                intake, kvEvents))).onFailure(SupervisorStrategy.restart());
    }

    private DecodeNode(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, Engine engine, EngineLoop loop,
            Intake intake, KvEventFeed kvEvents) {
        super(ctx, nodeId, NodeProtocol.DECODE_KEY, engine, loop, kvEvents);
        this.intake = intake;
        this.hasher = new BlockHasher(engine.fingerprint(), "", engine.pool().spec().blockSize());
    }

    @Override
    public Receive<NodeProtocol.Command> createReceive() {
        return commonReceive()
                .onMessage(NodeProtocol.Reserve.class, this::onReserve)
                .onMessage(NodeProtocol.PrefillStarted.class, st -> {
                    loop.startImport(st.requestId());
                    return this;
                })
                .onMessage(NodeProtocol.Handoff.class, h -> {
                    loop.handoff(h.requestId(), h.firstToken());
                    return this;
                })
                .onMessage(NodeProtocol.Generate.class, this::onGenerate)
                .build();
    }

    @Override
    public NodeProtocol.LoadReport load() {
        return new NodeProtocol.LoadReport(nodeId, "decode", loop.runningCount() + loop.importingCount(),
                loop.waitingCount(), engine.pool().freeBlockCount(), engine.pool().blockCount(),
                engine.pool().spec().blockSize(), loop.generatedTokens(), intake.destination.toString(),
                engine.fingerprint().toString(), kvEvents.log().incarnation(), kvEvents.published())
                .withTimes(loop.queueNanos(), loop.computeNanos())
                .withStuckMillis(loop.stuckMillis());
    }

    private Behavior<NodeProtocol.Command> onReserve(NodeProtocol.Reserve r) {
        RequestId id = r.requestId();
        ActorRef<NodeProtocol.Command> self = getContext().getSelf();
        submit(id, r.replyTo(), () -> {
            SamplingParams params = SamplingParams.fromSpec(r.sampling());
            BlockHash[] hashes = hasher.hashFullBlocks(hasher.root(r.cacheSalt()), r.promptTokens(),
                    r.promptTokens().length);
            return loop.submitImportWhenStarted(new GenerationRequest(id, r.promptTokens(), params, r.cacheSalt(), r.resumed()),
                    new Importer(id, r, hashes, () -> {
                        intake.listener.forget(r.transferId());
                        self.tell(new RequestEnded(id));
                    })).refusal(nodeId.value());
        });
        return this;
    }

    /** One imported request's listener; runs on the loop thread. */
    private final class Importer extends EventRelay implements ImportListener {
        private final NodeProtocol.Reserve reserve;
        private final BlockHash[] hashes;

        Importer(RequestId id, NodeProtocol.Reserve reserve, BlockHash[] hashes, Runnable onEnd) {
            super(id, reserve.replyTo()::tell, onEnd, 1 + reserve.resumed());
            this.reserve = reserve;
            this.hashes = hashes;
        }

        @Override
        public void onReserved(KvImport ticket) {
            intake.listener.expect(reserve.transferId(), new KvIntake.Expected(ticket, hashes,
                    engine.pool().spec().blockSize(), Math.toIntExact(engine.pool().spec().blockBytes())));
            reserve.prefill().tell(new NodeProtocol.DecodeReady(id, reserve.transferId(), intake.destination.channel(),
                    intake.destination.streamId(), ticket.firstBlock()));
        }

        @Override
        public void onRevoke(KvImport ticket) {
            intake.listener.cancel(reserve.transferId());
        }
    }
}
