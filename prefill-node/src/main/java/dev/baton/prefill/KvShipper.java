package dev.baton.prefill;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.KvCompatibility;
import dev.baton.common.RequestId;
import dev.baton.common.TransferId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvSequence;
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
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships prompts' KV to decode nodes. Runs on the prefill engine loop's thread (a {@link LoopAgent}),
 * which owns the blocks. A shipment starts when its prompt is admitted ({@link #admitted}); the
 * transfer begins once the decode node's endpoint is known ({@link #decodeReady}) and there is a
 * block to send, and carries the blocks the decode node does not hold already (from
 * {@link NodeProtocol.DecodeReady#heldBlocks()} on; resuming after back-pressure on the next cycle).
 *
 * <p><b>Streaming</b> ({@code baton.prefill.stream-kv}, on by default): while the prompt is still
 * computed, each chunk's finished (full) blocks are offered in the next duty cycle, before the next
 * chunk's step ({@link #progress}), so the transfer runs beside the prefill; the last, partly filled
 * block and the end of the transfer follow once the prompt is computed ({@link #prefilled}). Off, the
 * transfer begins only then. Either way the decode node admits the sequence only on the transfer's
 * verdict, after the end: a transfer that stops half way is never taken for KV.
 *
 * <p><b>Who frees what.</b> While the prompt is computed its blocks are the loop's: the shipper only
 * reads the finished ones, and a cancelled or failed request's blocks are freed by the loop (the
 * shipment then cancels its transfer: {@link #forget}). Once computed, the shipper holds the blocks
 * (under a lease while the decode node's endpoint is unknown) and frees them when the decode node has
 * verified them, the transfer failed, it was cancelled, or the lease ran out. A failure is reported
 * to the requester (retryable) and to the decode node (cancel); a streamed transfer that fails while
 * the prompt is still computed makes the loop cancel the request (retryable), which reports it.
 *
 * <p>Deadlines: a transfer begun after the prompt was computed must be verified within the transfer
 * timeout; one begun while it is computed gets the lease (for the rest of the prompt, as a computed
 * prompt's blocks wait at most that long for the decode node) plus the transfer timeout, and is
 * cancelled here if no verdict came within the transfer timeout after the prompt was computed.
 *
 * <p>Not thread-safe: every method runs on the loop thread ({@link dev.baton.engine.sched.EngineLoop#execute}).
 */
final class KvShipper implements LoopAgent, KvSendListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KvShipper.class);
    /** Blocks offered per duty cycle, so a long prompt does not hold the loop for its whole transfer. */
    private static final int BLOCKS_PER_CYCLE = 64;

    private enum Phase {
        /** No transfer yet: no endpoint, no block to send yet, or the decode node not connected. */
        WAITING,
        /** Begun: blocks are offered as they are computed. */
        SENDING,
        /** Every block offered and the end sent: waiting for the verdict. */
        ENDED,
        /** The transfer failed while the prompt was computed: the loop cancels the request; nothing is held. */
        FAILED
    }

    private static final class Shipment {
        final RequestId id;
        final long createdNanos = System.nanoTime();
        TransferId transferId;
        ActorRef<NodeProtocol.Command> decode;
        ActorRef<GenerationEvent> replyTo;
        int promptLength;
        BlockHash[] hashes;
        boolean computing; // admitted here and not computed yet: the loop owns the blocks
        KvSequence partial; // while computing (streaming): the loop's sequence, read only
        int written; // positions of partial whose KV is written
        PrefilledSequence seq; // the computed prompt, whose blocks the shipper owns
        long computedNanos;
        KvDestination destination;
        Phase phase = Phase.WAITING;
        boolean streamed; // the transfer began before the prompt was computed
        String failure; // why a FAILED shipment failed
        int firstBlock; // the prompt's leading blocks the decode node holds already: not sent
        int nextBlock;

        Shipment(RequestId id) {
            this.id = id;
        }

        boolean known() {
            return transferId != null;
        }
    }

    private final KvSender sender;
    private final KvBlockPool pool;
    private final KvCompatibility compatibility;
    private final BlockHasher hasher;
    private final long leaseNanos;
    private final long transferTimeoutNanos;
    private final boolean streaming;
    private final Consumer<RequestId> ended;
    private final BiConsumer<RequestId, String> abort;
    private final Timer handoff;
    private final Map<RequestId, Shipment> byRequest = new HashMap<>();
    private final Map<TransferId, Shipment> byTransfer = new HashMap<>();
    private final List<Shipment> active = new ArrayList<>();
    private final Map<KvDestination, KvDestination> destinations = new HashMap<>();
    private volatile int inFlight;
    private volatile long streamedBlocks;
    private long shipped;

    /**
     * @param leaseNanos           how long a computed prompt's blocks wait for the decode node's endpoint, or
     *                             for the transfer to begin, before they are freed and the request fails
     * @param transferTimeoutNanos deadline of one transfer from its begin frame, or (streamed) from the
     *                             prompt's last chunk
     * @param streaming            whether finished blocks are shipped while the prompt is still computed
     * @param ended                told (on the loop thread) when a shipment ends, however it ends
     * @param abort                cancels a request in the loop, retryable (a streamed transfer failed
     *                             while its prompt was computed); called on the loop thread
     * @param handoff              records, per completed transfer, the time from the prompt's last chunk
     *                             to the decode node's verdict: the part of the transfer not hidden
     * @param region               the pool's memory when it is shared (null: not): decode nodes on this
     *                             host then copy blocks out of the pool themselves (the shipper holds
     *                             them until the verdict anyway)
     */
    KvShipper(KvTransport transport, SharedRegion region, KvBlockPool pool, KvCompatibility compatibility,
            BlockHasher hasher, long leaseNanos, long transferTimeoutNanos, boolean streaming, Consumer<RequestId> ended,
            BiConsumer<RequestId, String> abort, Timer handoff) {
        this.sender = transport.newSender(this, region);
        this.pool = pool;
        this.compatibility = compatibility;
        this.hasher = hasher;
        this.leaseNanos = leaseNanos;
        this.transferTimeoutNanos = transferTimeoutNanos;
        this.streaming = streaming;
        this.ended = ended;
        this.abort = abort;
        this.handoff = handoff;
    }

    /** Shipments of prompts being computed, holding blocks, or waiting for an endpoint. Any thread. */
    int inFlight() {
        return inFlight;
    }

    /** Blocks offered while their prompt was still computed, since start. Any thread. */
    long streamedBlocks() {
        return streamedBlocks;
    }

    /** The prompt of {@code p} left the queue: its shipment lives until the request ends or its KV is shipped. */
    void admitted(NodeProtocol.Prefill p) {
        Shipment s = byRequest.computeIfAbsent(p.requestId(), Shipment::new);
        know(s, p);
        s.computing = true;
        track(s);
    }

    /** Positions {@code [0, written)} of the prompt being computed in {@code kv} (the loop's) are written. */
    void progress(RequestId id, KvSequence kv, int written) {
        if (!streaming) {
            return;
        }
        Shipment s = byRequest.get(id);
        if (s == null || !s.computing || s.phase == Phase.FAILED) {
            return;
        }
        s.partial = kv;
        s.written = written;
    }

    /** The prompt of {@code p} is computed: ship (the rest of) it once the decode node is ready. */
    void prefilled(PrefilledSequence seq, NodeProtocol.Prefill p) {
        Shipment s = byRequest.computeIfAbsent(seq.id(), Shipment::new);
        if (s.seq != null) {
            LOG.warn("{} prefilled twice; freeing the second copy", seq.id());
            seq.kv().free();
            return;
        }
        know(s, p);
        s.seq = seq;
        s.computing = false;
        s.partial = null;
        s.written = seq.kv().length();
        s.computedNanos = System.nanoTime();
        if (s.phase == Phase.FAILED) {
            // the transfer failed in the cycle of the prompt's last chunk, before the loop took the cancel
            fail(s, s.failure);
            return;
        }
        track(s);
    }

    private void know(Shipment s, NodeProtocol.Prefill p) {
        if (s.known()) {
            return;
        }
        s.transferId = p.transferId();
        byTransfer.put(p.transferId(), s);
        s.decode = p.decode();
        s.replyTo = p.replyTo();
        s.promptLength = p.promptTokens().length;
        s.hashes = hasher.hashFullBlocks(hasher.root(p.cacheSalt()), p.promptTokens(), p.promptTokens().length);
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

    /**
     * The request ended here before its KV was handed over (finished with its first token, failed,
     * cancelled; the loop freed its blocks): a transfer begun while it was computed is cancelled.
     */
    void forget(RequestId id) {
        Shipment s = byRequest.get(id);
        if (s != null && s.seq == null) {
            if (s.phase == Phase.SENDING || s.phase == Phase.ENDED) {
                sender.cancel(s.transferId, "the request ended on the prefill node before its KV was handed over");
            }
            remove(s);
        }
    }

    /** Cancels the shipment of request {@code id}, if there is one: the transfer stops and the blocks are freed. */
    void cancel(RequestId id, String reason) {
        Shipment s = byRequest.get(id);
        if (s == null) {
            return;
        }
        if (s.phase == Phase.SENDING || s.phase == Phase.ENDED) {
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
        // backwards: a shipment that ends removes only itself
        for (int i = active.size() - 1; i >= 0; i--) {
            if (i >= active.size()) {
                continue;
            }
            Shipment s = active.get(i);
            if (s.phase == Phase.FAILED) {
                continue;
            }
            if (s.phase == Phase.WAITING && expired(s, now)) {
                work++;
                continue;
            }
            if (s.streamed && s.seq != null && now - s.computedNanos > transferTimeoutNanos) {
                sender.cancel(s.transferId, "no verdict within the transfer timeout");
                fail(s, "no verdict from the decode node at " + s.destination + " within "
                        + transferTimeoutNanos / 1_000_000 + " ms after the prompt was computed");
                work++;
                continue;
            }
            work += advance(s, now);
        }
        return work;
    }

    /** A shipment with no transfer past its lease: failed or dropped (then true). */
    private boolean expired(Shipment s, long now) {
        if (s.seq != null) {
            if (now - s.computedNanos <= leaseNanos) {
                return false;
            }
            fail(s, s.destination == null ? "the decode node did not reserve blocks within "
                    + leaseNanos / 1_000_000 + " ms" : "the decode node at " + s.destination
                    + " could not be reached within " + leaseNanos / 1_000_000 + " ms");
            return true;
        }
        if (!s.computing && now - s.createdNanos > leaseNanos) {
            remove(s); // an endpoint for a request that is not (or no longer) here
            return true;
        }
        return false; // the prompt is still computed: the loop bounds it
    }

    private int advance(Shipment s, long now) {
        if (s.destination == null || !s.known() || s.phase == Phase.ENDED) {
            return 0;
        }
        int bs = pool.spec().blockSize();
        int blocks = (s.promptLength + bs - 1) / bs; // the prompt's (its sequence reserved exactly these)
        // blocks whose bytes are final: all of a computed prompt; the full, written ones of one being computed
        int ready = s.seq != null ? blocks : s.partial != null ? Math.min(s.written / bs, blocks) : 0;
        KvSequence kv = s.seq != null ? s.seq.kv() : s.partial;
        int work = 0;
        if (s.phase == Phase.WAITING) {
            if (s.firstBlock < 0 || s.firstBlock >= blocks) {
                if (s.seq != null) {
                    fail(s, "the decode node holds " + s.firstBlock + " of the prompt's " + blocks
                            + " blocks; it must receive at least the last one");
                    return 1;
                }
                return 0; // said once the prompt is computed
            }
            if (ready <= s.firstBlock) {
                return 0;
            }
            boolean streamed = s.seq == null;
            long deadline = now + transferTimeoutNanos + (streamed ? leaseNanos : 0);
            SendResult r = sender.begin(s.transferId, compatibility, s.destination, 0, blocks - s.firstBlock,
                    Math.toIntExact(pool.spec().blockBytes()), deadline);
            if (r.isRetryable()) {
                return 0;
            }
            if (r != SendResult.OK) {
                fail(s, "could not begin the KV transfer to " + s.destination + ": " + r);
                return 1;
            }
            s.phase = Phase.SENDING;
            s.streamed = streamed;
            work++;
        }
        int layers = pool.spec().layerCount();
        for (int n = 0; s.nextBlock < ready && n < BLOCKS_PER_CYCLE; n++) {
            int i = s.nextBlock;
            BlockHash hash = i < s.hashes.length ? s.hashes[i] : PARTIAL_BLOCK;
            SendResult r = sender.offerBlock(s.transferId, i - s.firstBlock, hash, i * bs, 0, layers,
                    pool.block(kv.blockTable()[i]));
            if (r.isRetryable()) {
                return work;
            }
            if (r != SendResult.OK) {
                fail(s, "KV transfer to " + s.destination + " stopped at block " + i + ": " + r);
                return work + 1;
            }
            s.nextBlock++;
            if (s.seq == null) {
                streamedBlocks++;
            }
            work++;
        }
        if (s.seq != null && s.nextBlock == blocks) {
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
            handoff.record(System.nanoTime() - s.computedNanos, TimeUnit.NANOSECONDS);
            remove(s);
        }
    }

    @Override
    public void onFailed(TransferId id, KvFailure failure, String reason) {
        Shipment s = byTransfer.get(id);
        if (s != null && s.phase != Phase.FAILED) {
            fail(s, "KV transfer to the decode node failed (" + failure.tag() + "): " + reason);
        }
    }

    @Override
    public void onCancelled(TransferId id, String reason) {
        Shipment s = byTransfer.get(id);
        if (s != null && s.phase != Phase.FAILED) {
            fail(s, "the decode node cancelled the KV transfer: " + reason);
        }
    }

    /** Fails a shipment whose transfer is over (or never began). */
    private void fail(Shipment s, String reason) {
        LOG.info("{}: {}", s.id, reason);
        if (s.seq != null) {
            s.replyTo.tell(new GenerationEvent.Failed(s.id, reason, true));
            s.decode.tell(new NodeProtocol.Cancel(s.id, reason));
            remove(s);
        } else if (s.computing) {
            // the loop owns the blocks: it cancels the request, which tells the requester and the decode node
            s.phase = Phase.FAILED;
            s.failure = reason;
            s.partial = null;
            abort.accept(s.id, reason);
        } else {
            remove(s);
        }
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
