package dev.baton.prefill;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.KvCompatibility;
import dev.baton.common.RequestId;
import dev.baton.common.TransferId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.sched.LoopAgent;
import dev.baton.engine.sched.PrefilledSequence;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvSendListener;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransport;
import dev.baton.kvtransfer.SharedRegion;
import dev.baton.kvtransfer.SendResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships prefilled prompts' KV to decode nodes. Runs on the prefill engine loop's thread (a
 * {@link LoopAgent}), which owns the blocks: it holds each prompt's blocks under a lease, begins the
 * transfer once both the KV ({@link #prefilled}) and the decode node's endpoint ({@link #decodeReady})
 * are known, offers the blocks the decode node does not hold already (from
 * {@link NodeProtocol.DecodeReady#heldBlocks()} on; resuming after back-pressure on the next cycle), and frees the
 * blocks when the decode node has verified them, the transfer failed, it was cancelled, or the lease
 * ran out. A failure is reported to the requester (retryable) and to the decode node (cancel).
 *
 * <p>Not thread-safe: every method runs on the loop thread ({@link dev.baton.engine.sched.EngineLoop#execute}).
 */
final class KvShipper implements LoopAgent, KvSendListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KvShipper.class);
    /** Blocks offered per duty cycle, so a long prompt does not hold the loop for its whole transfer. */
    private static final int BLOCKS_PER_CYCLE = 64;

    private enum Phase { WAITING, SENDING, ENDED }

    private static final class Shipment {
        final RequestId id;
        final long createdNanos = System.nanoTime();
        TransferId transferId;
        ActorRef<NodeProtocol.Command> decode;
        ActorRef<GenerationEvent> replyTo;
        PrefilledSequence seq;
        KvDestination destination;
        BlockHash[] hashes;
        Phase phase = Phase.WAITING;
        int firstBlock; // the prompt's leading blocks the decode node holds already: not sent
        int nextBlock;

        Shipment(RequestId id) {
            this.id = id;
        }
    }

    private final KvSender sender;
    private final KvBlockPool pool;
    private final KvCompatibility compatibility;
    private final BlockHasher hasher;
    private final long leaseNanos;
    private final long transferTimeoutNanos;
    private final Consumer<RequestId> ended;
    private final Map<RequestId, Shipment> byRequest = new HashMap<>();
    private final Map<TransferId, Shipment> byTransfer = new HashMap<>();
    private final List<Shipment> active = new ArrayList<>();
    private final Map<KvDestination, KvDestination> destinations = new HashMap<>();
    private volatile int inFlight;
    private long shipped;

    /**
     * @param leaseNanos           how long prefilled blocks wait for the decode node's endpoint, or for
     *                             the transfer to begin, before they are freed and the request fails
     * @param transferTimeoutNanos deadline of one transfer from its begin frame
     * @param ended                told (on the loop thread) when a shipment ends, however it ends
     * @param region               the pool's memory when it is shared (null: not): decode nodes on this
     *                             host then copy blocks out of the pool themselves (the shipper holds
     *                             them until the verdict anyway)
     */
    KvShipper(KvTransport transport, SharedRegion region, KvBlockPool pool, KvCompatibility compatibility,
            BlockHasher hasher, long leaseNanos, long transferTimeoutNanos, Consumer<RequestId> ended) {
        this.sender = transport.newSender(this, region);
        this.pool = pool;
        this.compatibility = compatibility;
        this.hasher = hasher;
        this.leaseNanos = leaseNanos;
        this.transferTimeoutNanos = transferTimeoutNanos;
        this.ended = ended;
    }

    /** Shipments holding blocks or waiting for an endpoint. Any thread. */
    int inFlight() {
        return inFlight;
    }

    /** The prompt of {@code p} is computed: ship it once the decode node is ready. */
    void prefilled(PrefilledSequence seq, NodeProtocol.Prefill p) {
        Shipment s = byRequest.computeIfAbsent(seq.id(), Shipment::new);
        if (s.phase != Phase.WAITING || s.seq != null) {
            LOG.warn("{} prefilled twice; freeing the second copy", seq.id());
            seq.kv().free();
            return;
        }
        s.seq = seq;
        s.transferId = p.transferId();
        byTransfer.put(p.transferId(), s);
        s.decode = p.decode();
        s.replyTo = p.replyTo();
        s.hashes = hasher.hashFullBlocks(hasher.root(seq.cacheSalt()), seq.prompt(), seq.prompt().length);
        track(s);
    }

    /** The decode node reserved blocks and listens at this endpoint. */
    void decodeReady(NodeProtocol.DecodeReady r) {
        Shipment s = byRequest.computeIfAbsent(r.requestId(), Shipment::new);
        if (s.destination == null) {
            KvDestination d = new KvDestination(r.kvChannel(), r.kvStreamId());
            s.destination = destinations.computeIfAbsent(d, k -> k); // one instance per endpoint: the sender keeps a stream per destination
            s.firstBlock = r.heldBlocks();
            s.nextBlock = r.heldBlocks();
            track(s);
        }
    }

    /** The request ended before its KV was handed over (finished with its first token, failed, cancelled). */
    void forget(RequestId id) {
        Shipment s = byRequest.get(id);
        if (s != null && s.seq == null) {
            remove(s);
        }
    }

    /** Cancels the shipment of request {@code id}, if there is one: the transfer stops and the blocks are freed. */
    void cancel(RequestId id, String reason) {
        Shipment s = byRequest.get(id);
        if (s == null) {
            return;
        }
        if (s.phase != Phase.WAITING) {
            sender.cancel(s.transferId, reason);
        }
        if (s.seq != null) {
            s.replyTo.tell(new GenerationEvent.Failed(id, reason, false));
        }
        remove(s);
    }

    private void track(Shipment s) {
        if (!active.contains(s)) {
            active.add(s);
        }
        inFlight = byRequest.size();
    }

    @Override
    public int doWork() {
        int work = sender.doWork();
        if (active.isEmpty()) {
            return work;
        }
        long now = System.nanoTime();
        for (Shipment s : List.copyOf(active)) {
            if (s.phase == Phase.WAITING && now - s.createdNanos > leaseNanos) {
                if (s.seq == null) {
                    remove(s); // an endpoint for a request that ended here already
                } else {
                    fail(s, s.destination == null ? "the decode node did not reserve blocks within "
                            + leaseNanos / 1_000_000 + " ms" : "the decode node at " + s.destination
                            + " could not be reached within " + leaseNanos / 1_000_000 + " ms");
                }
                work++;
                continue;
            }
            work += advance(s, now);
        }
        return work;
    }

    private int advance(Shipment s, long now) {
        if (s.seq == null || s.destination == null || s.phase == Phase.ENDED) {
            return 0;
        }
        int work = 0;
        int blocks = s.seq.kv().blockCount();
        if (s.phase == Phase.WAITING) {
            if (s.firstBlock < 0 || s.firstBlock >= blocks) {
                fail(s, "the decode node holds " + s.firstBlock + " of the prompt's " + blocks
                        + " blocks; it must receive at least the last one");
                return 1;
            }
            SendResult r = sender.begin(s.transferId, compatibility, s.destination, 0, blocks - s.firstBlock,
                    Math.toIntExact(pool.spec().blockBytes()), now + transferTimeoutNanos);
            if (r.isRetryable()) {
                return 0;
            }
            if (r != SendResult.OK) {
                fail(s, "could not begin the KV transfer to " + s.destination + ": " + r);
                return 1;
            }
            s.phase = Phase.SENDING;
            work++;
        }
        int bs = pool.spec().blockSize();
        int layers = pool.spec().layerCount();
        for (int n = 0; s.nextBlock < blocks && n < BLOCKS_PER_CYCLE; n++) {
            int i = s.nextBlock;
            BlockHash hash = i < s.hashes.length ? s.hashes[i] : PARTIAL_BLOCK;
            SendResult r = sender.offerBlock(s.transferId, i - s.firstBlock, hash, i * bs, 0, layers,
                    pool.block(s.seq.kv().blockTable()[i]));
            if (r.isRetryable()) {
                return work;
            }
            if (r != SendResult.OK) {
                fail(s, "KV transfer to " + s.destination + " stopped at block " + i + ": " + r);
                return work + 1;
            }
            s.nextBlock++;
            work++;
        }
        if (s.nextBlock == blocks) {
            SendResult r = sender.end(s.transferId);
            if (r == SendResult.OK) {
                s.phase = Phase.ENDED;
                work++;
            } else if (!r.isRetryable()) {
                fail(s, "could not end the KV transfer to " + s.destination + ": " + r);
            }
        }
        return work;
    }

    /** The hash sent for the last, partly filled block of a prompt (only full blocks have hashes). */
    static final BlockHash PARTIAL_BLOCK = new BlockHash(0, 0);

    @Override
    public void onComplete(TransferId id) {
        Shipment s = byTransfer.get(id);
        if (s != null) {
            shipped++;
            remove(s);
        }
    }

    @Override
    public void onFailed(TransferId id, KvFailure failure, String reason) {
        Shipment s = byTransfer.get(id);
        if (s != null) {
            fail(s, "KV transfer to the decode node failed (" + failure.tag() + "): " + reason);
        }
    }

    @Override
    public void onCancelled(TransferId id, String reason) {
        Shipment s = byTransfer.get(id);
        if (s != null) {
            fail(s, "the decode node cancelled the KV transfer: " + reason);
        }
    }

    private void fail(Shipment s, String reason) {
        LOG.info("{}: {}", s.id, reason);
        if (s.seq != null) {
            s.replyTo.tell(new GenerationEvent.Failed(s.id, reason, true));
            s.decode.tell(new NodeProtocol.Cancel(s.id, reason));
        }
        remove(s);
    }

    private void remove(Shipment s) {
        byRequest.remove(s.id);
        active.remove(s);
        if (s.transferId != null) {
            byTransfer.remove(s.transferId);
        }
        if (s.seq != null) {
            s.seq.kv().free();
        }
        inFlight = byRequest.size();
        ended.accept(s.id);
    }

    /** Transfers completed so far. */
    long shipped() {
        return shipped;
    }

    @Override
    public void close() {
        sender.close();
    }
}
