package dev.baton.prefill;

import dev.baton.common.BlockHasher;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.KvEvents;
import dev.baton.common.protocol.NodeActor;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.EventRelay;
import dev.baton.engine.sched.GenerationRequest;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.engine.sched.PrefillListener;
import dev.baton.engine.sched.PrefilledSequence;
import dev.baton.kvtransfer.KvTransport;
import dev.baton.kvtransfer.SharedRegion;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * A prefill node (role {@code prefill}, docs/design.md §3): runs {@link NodeProtocol.Prefill} requests
 * through a prefill-only {@link EngineLoop} (batched, chunked), streams the prompt's first token to
 * the requester, hands it to the decode node ({@link NodeProtocol.Handoff}) and ships the prompt's
 * KV there through kv-transfer once the decode node says where ({@link NodeProtocol.DecodeReady}): with
 * {@code baton.prefill.stream-kv} (the default) each chunk's finished blocks while the next chunk is
 * computed, the rest once the prompt is.
 * A request that ends with its first token ends here (the router then cancels the decode node's
 * reservation); one that fails here cancels it on the decode node itself.
 */
public final class PrefillNode extends NodeActor {

    /** The node's kv-transfer side: the sender, run on the engine loop's thread. */
    public static final class Shipping implements AutoCloseable {
        final KvShipper shipper;
        private volatile ActorRef<NodeProtocol.Command> node;

        /**
         * @param region   the shared memory holding the engine's KV pool (decode nodes on this host copy
         *                 blocks out of it), or null
         * @param settings the lease, the transfer timeout and whether blocks are shipped while a prompt is
         *                 computed ({@code baton.prefill})
         * @param registry where {@code baton.prefill.kv.handoff} (time from a prompt's last chunk to the decode
         *                 node's verdict on its KV) and {@code baton.prefill.kv.streamed.blocks} go
         * @param tags     their tags (role, node, model)
         */
        public Shipping(KvTransport transport, SharedRegion region, Engine engine, EngineLoop loop,
                PrefillSettings settings, MeterRegistry registry, Tags tags) {
            this.shipper = new KvShipper(transport, region, engine.pool(), engine.compatibility(),
                    new BlockHasher(engine.fingerprint(), "", engine.pool().spec().blockSize()),
                    settings.kvLease().toNanos(), settings.transferTimeout().toNanos(), settings.streamKv(), id -> {
                        ActorRef<NodeProtocol.Command> n = node;
                        if (n != null) {
                            n.tell(new RequestEnded(id));
                        }
                    }, (id, reason) -> loop.cancel(id, reason, true), Timer.builder("baton.prefill.kv.handoff")
                            .description("time from a prompt's last chunk to the decode node's verdict on its KV")
                            .tags(tags).register(registry));
            FunctionCounter.builder("baton.prefill.kv.streamed.blocks", shipper, KvShipper::streamedBlocks)
                    .description("KV blocks shipped while their prompt was still computed").tags(tags).register(registry);
            loop.attach(shipper);
        }

        /** Shipments of prompts being computed, holding blocks, or waiting for a decode node. */
        public int inFlight() {
            return shipper.inFlight();
        }

        /** Blocks shipped while their prompt was still computed, since start. */
        public long streamedBlocks() {
            return shipper.streamedBlocks();
        }

        /** Transfers the decode nodes verified so far. */
        public long shipped() {
            return shipper.shipped();
        }

        /** Closes the sender; call once the engine loop has stopped. */
        @Override
        public void close() {
            shipper.close();
        }
    }

    private final Engine engine;
    private final EngineLoop loop;
    private final Shipping shipping;
    private final KvEventFeed kvEvents;

    /** The prefill node, restarted on failure (its requests live in the engine loop, not in the actor). */
    public static Behavior<NodeProtocol.Command> create(NodeId nodeId, Engine engine, EngineLoop loop, Shipping shipping,
            KvEventFeed kvEvents) {
        return Behaviors.supervise(Behaviors.<NodeProtocol.Command>setup(ctx -> new PrefillNode(ctx, nodeId, engine, loop,
                shipping, kvEvents))).onFailure(SupervisorStrategy.restart());
    }

    private PrefillNode(ActorContext<NodeProtocol.Command> ctx, NodeId nodeId, Engine engine, EngineLoop loop,
            Shipping shipping, KvEventFeed kvEvents) {
        super(ctx, nodeId, NodeProtocol.PREFILL_KEY, kvEvents.log());
        this.engine = engine;
        this.loop = loop;
        this.shipping = shipping;
        this.kvEvents = kvEvents;
        shipping.node = ctx.getSelf();
    }

    @Override
    public Receive<NodeProtocol.Command> createReceive() {
        return commonReceive()
                .onMessage(NodeProtocol.Prefill.class, this::onPrefill)
                .onMessage(NodeProtocol.DecodeReady.class, r -> {
                    loop.execute(() -> shipping.shipper.decodeReady(r));
                    return this;
                })
                .build();
    }

    /** A request is either in the loop (prefilling) or with the shipper: both are told, in order, on the loop thread. */
    @Override
    protected void cancel(RequestId id, String reason) {
        loop.cancel(id, reason);
        loop.execute(() -> shipping.shipper.cancel(id, reason));
    }

    /** Idle once no request runs and no shipment holds blocks for, or waits on, a decode node. */
    @Override
    protected boolean idle() {
        return super.idle() && shipping.inFlight() == 0 && loop.runningCount() == 0 && loop.waitingCount() == 0;
    }

    @Override
    protected void sendKvState(ActorRef<KvEvents.State> replyTo) {
        loop.execute(() -> replyTo.tell(kvEvents.state()));
    }

    @Override
    public NodeProtocol.LoadReport load() {
        return new NodeProtocol.LoadReport(nodeId, "prefill", loop.runningCount(), loop.waitingCount(),
                engine.pool().freeBlockCount(), engine.pool().blockCount(), engine.pool().spec().blockSize(),
                loop.generatedTokens(), "", engine.fingerprint().toString(),
                kvEvents.log().incarnation(), kvEvents.published()).withTimes(loop.queueNanos(), loop.computeNanos())
                .withStuckMillis(loop.stuckMillis());
    }

    private Behavior<NodeProtocol.Command> onPrefill(NodeProtocol.Prefill p) {
        RequestId id = p.requestId();
        ActorRef<NodeProtocol.Command> self = getContext().getSelf();
        String refused = submit(id, p.replyTo(), () -> loop.submitPrefill(new GenerationRequest(id, p.promptTokens(),
                SamplingParams.fromSpec(p.sampling()), p.cacheSalt(), p.resumed()), new Relay(p, () -> {
                    shipping.shipper.forget(id);
                    self.tell(new RequestEnded(id));
                })).refusal(nodeId.value()));
        if (refused != null) {
            p.decode().tell(new NodeProtocol.Cancel(id, refused)); // the decode node's reservation is not needed
        }
        return this;
    }

    /** One request's listener, on the loop thread: first token to the requester, KV to the shipper. */
    private final class Relay extends EventRelay implements PrefillListener {
        private final NodeProtocol.Prefill prefill;

        Relay(NodeProtocol.Prefill p, Runnable onEnd) {
            super(p.requestId(), p.replyTo()::tell, onEnd, p.resumed());
            this.prefill = p;
        }

        /** The prompt left the queue: the decode node reserves its blocks now. */
        @Override
        public void onAdmitted() {
            prefill.decode().tell(new NodeProtocol.PrefillStarted(id, prefill.transferId()));
            shipping.shipper.admitted(prefill);
        }

        /** A chunk is computed: its finished blocks may go to the decode node while the next one runs. */
        @Override
        public void onPrefillProgress(KvSequence kv, int computed) {
            shipping.shipper.progress(id, kv, computed);
        }

        @Override
        public void onPrefillDone(PrefilledSequence sequence) {
            prefill.decode().tell(new NodeProtocol.Handoff(id, prefill.transferId(), sequence.firstToken()));
            shipping.shipper.prefilled(sequence, prefill);
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            super.onFailed(reason, retryable);
            prefill.decode().tell(new NodeProtocol.Cancel(id, reason));
        }
    }
}
