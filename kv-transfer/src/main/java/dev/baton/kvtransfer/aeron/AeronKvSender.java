package dev.baton.kvtransfer.aeron;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.TransferId;
import dev.baton.common.sbe.AckDecoder;
import dev.baton.common.sbe.BlockRefEncoder;
import dev.baton.common.sbe.BeginEncoder;
import dev.baton.common.sbe.BlockEncoder;
import dev.baton.common.sbe.CancelDecoder;
import dev.baton.common.sbe.CancelEncoder;
import dev.baton.common.sbe.EndEncoder;
import dev.baton.common.sbe.FailureCode;
import dev.baton.common.sbe.MessageHeaderDecoder;
import dev.baton.common.sbe.MessageHeaderEncoder;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.SharedRegion;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvSendListener;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransferMetrics;
import dev.baton.kvtransfer.SendResult;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.Header;
import io.micrometer.core.instrument.LongTaskTimer;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The Aeron {@link KvSender}: one exclusive publication per destination (shared by every transfer to
 * it), one subscription on this transport's reply channel. Block parts are written with
 * {@link ExclusivePublication#tryClaim}: the payload is copied once, from the caller's segment into
 * the term buffer, and its CRC32C computed on the way. Threading and contracts as {@link KvSender}.
 *
 * <p>Given a {@link SharedRegion}, the sender names it in the Begin of every transfer to a receiver on
 * this host (an IPC channel, or UDP to a loopback address). Once a receiver's Ack says it maps the
 * region, later transfers to it send each part that lies in the region as a {@code BlockRef} (its
 * offset and CRC32C) and the receiver copies it: one copy instead of two, and a block changed before
 * the verdict fails the CRC check instead of arriving changed. Parts outside the region, and
 * receivers that cannot map it, get bytes as before.
 */
final class AeronKvSender implements KvSender {

    /** Sender-side state of one transfer in flight; pooled. */
    private static final class Transfer {
        TransferId id;
        long idValue;
        ExclusivePublication publication;
        int maxChunkBytes;
        long startNs;
        long deadlineNs;
        int blockCount;
        int layerCount;
        int bytesPerLayer;
        boolean ended;
        boolean partActive;
        int partBlock;
        int partLayerStart;
        int partLayerCount;
        int partOffset;
        final RunningCrc32c crc = new RunningCrc32c();
        LongTaskTimer.Sample sample;
        Peer peer;
        boolean offeredRegion;
        boolean pull;
    }

    /** A destination: its publication, and whether its receiver maps this sender's region. */
    private static final class Peer {
        final KvDestination destination;
        final ExclusivePublication publication;
        final boolean sameHost;
        int region; // REGION_*
        int inFlight; // transfers begun and not ended
        long lastUsedNs; // when a transfer to it last began or ended (or it was opened)

        Peer(KvDestination destination, ExclusivePublication publication, boolean sameHost, long nowNs) {
            this.destination = destination;
            this.publication = publication;
            this.sameHost = sameHost;
            this.lastUsedNs = nowNs;
        }
    }

    /** How often idle peers are looked for. */
    private static final long PEER_CHECK_NS = 1_000_000_000L;

    private static final int REGION_UNKNOWN = 0;
    private static final int REGION_MAPPED = 1;
    private static final int REGION_UNMAPPABLE = 2;

    private final Aeron aeron;
    private final AeronTransportSettings settings;
    private final KvTransferMetrics metrics;
    private final KvSendListener listener;
    private final NanoClock clock;
    private final Subscription replies;
    private final FragmentAssembler replyAssembler;

    private final SharedRegion region;
    private final Map<KvDestination, Peer> peers = new HashMap<>();
    private final ArrayList<Peer> peerList = new ArrayList<>(); // the same peers, walked without allocating
    private long nextPeerCheckNs;
    private final Long2ObjectHashMap<Transfer> transfers = new Long2ObjectHashMap<>();
    private final ArrayDeque<Transfer> pool = new ArrayDeque<>();
    private Transfer[] expired = new Transfer[16];

    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final BeginEncoder beginEncoder = new BeginEncoder();
    private final BlockEncoder blockEncoder = new BlockEncoder();
    private final BlockRefEncoder blockRefEncoder = new BlockRefEncoder();
    private final EndEncoder endEncoder = new EndEncoder();
    private final CancelEncoder cancelEncoder = new CancelEncoder();
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final AckDecoder ackDecoder = new AckDecoder();
    private final CancelDecoder cancelDecoder = new CancelDecoder();
    private final UnsafeBuffer controlBuffer = new UnsafeBuffer(ByteBuffer.allocateDirect(Frames.CONTROL_BUFFER_BYTES));
    private final BufferClaim claim = new BufferClaim();
    private final UnsafeBuffer source = new UnsafeBuffer(0, 0);

    private long nowNs;
    private long nextCheckNs;
    private boolean closed;

    AeronKvSender(Aeron aeron, AeronTransportSettings settings, KvTransferMetrics metrics, KvSendListener listener,
            NanoClock clock, SharedRegion region) {
        this.aeron = aeron;
        this.region = region;
        this.settings = settings;
        this.metrics = metrics;
        this.listener = listener;
        this.clock = clock;
        this.replies = aeron.addSubscription(settings.subscriptionChannel(settings.replyChannel()), settings.replyStreamId());
        this.replyAssembler = new FragmentAssembler(this::onReply);
        this.nowNs = clock.nanoTime();
    }

    @Override
    public String roleName() {
        return "kv-sender-" + settings.name();
    }

    @Override
    public int doWork() {
        if (closed) {
            return 0;
        }
        nowNs = clock.nanoTime();
        int work = replies.poll(replyAssembler, settings.fragmentLimit());
        if (nowNs - nextCheckNs >= 0) {
            nextCheckNs = nowNs + Frames.CHECK_INTERVAL_NS;
            work += checkDeadlines();
        }
        if (nowNs - nextPeerCheckNs >= 0) {
            nextPeerCheckNs = nowNs + PEER_CHECK_NS;
            work += closeIdlePeers();
        }
        return work;
    }

    @Override
    public SendResult begin(TransferId id, KvCompatibility compatibility, KvDestination destination, long destinationTag,
            int blockCount, int blockBytes, long deadlineNs) {
        if (closed) {
            return SendResult.CLOSED;
        }
        if (blockCount < 1) {
            throw new IllegalArgumentException("blockCount " + blockCount + " must be at least 1");
        }
        int layers = compatibility.layerCount();
        if (layers < 1 || blockBytes < layers || blockBytes % layers != 0) {
            throw new IllegalArgumentException("blockBytes " + blockBytes + " must be a positive multiple of the layer count "
                    + layers);
        }
        if ((long) blockCount * layers > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("blockCount " + blockCount + " times layer count " + layers
                    + " is over the limit " + Integer.MAX_VALUE / 2);
        }
        if (transfers.containsKey(id.value())) {
            throw new IllegalStateException(id + " is already in flight on this sender");
        }
        long now = clock.nanoTime();
        long timeoutNs = deadlineNs - now;
        if (timeoutNs <= 0) {
            throw new IllegalArgumentException("deadlineNs is " + (-timeoutNs) + " ns in the past for " + id);
        }
        Peer peer = peers.get(destination);
        if (peer == null) {
            peer = new Peer(destination, aeron.addExclusivePublication(settings.publicationChannel(destination.channel()),
                    destination.streamId()), AeronTransportSettings.isSameHost(destination.channel()), now);
            peers.put(destination, peer);
            peerList.add(peer);
            metrics.publications(1);
        }
        ExclusivePublication pub = peer.publication;
        if (!pub.isConnected()) {
            metrics.backPressured();
            return SendResult.NOT_CONNECTED;
        }
        beginEncoder.wrapAndApplyHeader(controlBuffer, 0, headerEncoder)
                .transferId(id.value())
                .destinationTag(destinationTag)
                .timeoutNs(timeoutNs)
                .modelFingerprintHi(compatibility.model().hi())
                .modelFingerprintLo(compatibility.model().lo())
                .blockCount(blockCount)
                .blockBytes(blockBytes)
                .blockSize(compatibility.blockSize())
                .layerCount(layers)
                .kvHeadCount(compatibility.kvHeadCount())
                .headDim(compatibility.headDim())
                .kvProtocolVersion(compatibility.protocolVersion())
                .replyStreamId(settings.replyStreamId());
        boolean offerRegion = region != null && peer.sameHost && peer.region != REGION_UNMAPPABLE;
        boolean pull = offerRegion && peer.region == REGION_MAPPED;
        beginEncoder.regionPid(offerRegion ? region.pid() : 0)
                .regionFd(offerRegion ? region.fd() : 0)
                .regionToken(offerRegion ? region.token() : 0)
                .regionBytes(offerRegion ? region.byteSize() : 0)
                .pull((short) (pull ? 1 : 0))
                .dtype(compatibility.dtype())
                .layout(compatibility.layout())
                .replyChannel(settings.replyChannel());
        SendResult r = offer(pub, controlBuffer, MessageHeaderEncoder.ENCODED_LENGTH + beginEncoder.encodedLength());
        if (r != SendResult.OK) {
            return r;
        }
        Transfer t = pool.isEmpty() ? new Transfer() : pool.poll();
        t.id = id;
        t.idValue = id.value();
        t.publication = pub;
        t.maxChunkBytes = Frames.maxChunkBytes(pub);
        t.startNs = now;
        t.deadlineNs = deadlineNs;
        t.blockCount = blockCount;
        t.layerCount = layers;
        t.bytesPerLayer = blockBytes / layers;
        t.ended = false;
        t.partActive = false;
        t.sample = metrics.startTransfer();
        t.peer = peer;
        peer.inFlight++;
        peer.lastUsedNs = now;
        t.offeredRegion = offerRegion;
        t.pull = pull;
        transfers.put(t.idValue, t);
        return SendResult.OK;
    }

    @Override
    public SendResult offerBlock(TransferId id, int blockIndex, BlockHash hash, int firstPosition, int layerStart,
            int layerCount, MemorySegment bytes) {
        if (closed) {
            return SendResult.CLOSED;
        }
        Transfer t = transfers.get(id.value());
        if (t == null) {
            return SendResult.UNKNOWN_TRANSFER;
        }
        if (t.partActive) {
            if (t.partBlock != blockIndex || t.partLayerStart != layerStart || t.partLayerCount != layerCount) {
                throw new IllegalStateException("block " + t.partBlock + " layers [" + t.partLayerStart + ", "
                        + (t.partLayerStart + t.partLayerCount) + ") of " + id + " is half sent: offer it again first");
            }
        } else {
            checkPart(t, blockIndex, layerStart, layerCount, bytes);
            t.partActive = true;
            t.partBlock = blockIndex;
            t.partLayerStart = layerStart;
            t.partLayerCount = layerCount;
            t.partOffset = 0;
            t.crc.reset();
        }
        int partBytes = layerCount * t.bytesPerLayer;
        long regionOffset = t.pull ? region.offsetOf(bytes.address(), partBytes) : -1;
        if (regionOffset >= 0) {
            return offerRef(t, blockIndex, hash, firstPosition, layerStart, layerCount, partBytes, bytes.address(),
                    regionOffset);
        }
        source.wrap(bytes.address(), partBytes);
        ExclusivePublication pub = t.publication;
        while (t.partOffset < partBytes) {
            int offset = t.partOffset;
            int length = Math.min(t.maxChunkBytes, partBytes - offset);
            long position = pub.tryClaim(Frames.BLOCK_OVERHEAD + length, claim);
            if (position < 0) {
                return failedOffer(position);
            }
            t.crc.update(bytes.address() + offset, length);
            blockEncoder.wrapAndApplyHeader(claim.buffer(), claim.offset(), headerEncoder)
                    .transferId(t.idValue)
                    .blockHashHi(hash.hi())
                    .blockHashLo(hash.lo())
                    .blockIndex(blockIndex)
                    .firstPosition(firstPosition)
                    .layerStart(layerStart)
                    .layerCount(layerCount)
                    .partBytes(partBytes)
                    .chunkOffset(offset)
                    .crc32c(t.crc.value())
                    .putPayload(source, offset, length);
            claim.commit();
            t.partOffset = offset + length;
            metrics.bytes(length);
            metrics.frames(1);
        }
        t.partActive = false;
        return SendResult.OK;
    }

    /** One whole part as a BlockRef frame: its CRC32C and where it lies in the region. */
    private SendResult offerRef(Transfer t, int blockIndex, BlockHash hash, int firstPosition, int layerStart,
            int layerCount, int partBytes, long address, long regionOffset) {
        ExclusivePublication pub = t.publication;
        long position = pub.tryClaim(MessageHeaderEncoder.ENCODED_LENGTH + BlockRefEncoder.BLOCK_LENGTH, claim);
        if (position < 0) {
            return failedOffer(position); // the part stays active: the next call starts it again
        }
        t.crc.reset();
        t.crc.update(address, partBytes);
        blockRefEncoder.wrapAndApplyHeader(claim.buffer(), claim.offset(), headerEncoder)
                .transferId(t.idValue)
                .blockHashHi(hash.hi())
                .blockHashLo(hash.lo())
                .blockIndex(blockIndex)
                .firstPosition(firstPosition)
                .layerStart(layerStart)
                .layerCount(layerCount)
                .partBytes(partBytes)
                .crc32c(t.crc.value())
                .regionOffset(regionOffset);
        claim.commit();
        t.partActive = false;
        metrics.pulled(partBytes);
        metrics.frames(1);
        return SendResult.OK;
    }

    private static void checkPart(Transfer t, int blockIndex, int layerStart, int layerCount, MemorySegment bytes) {
        if (blockIndex < 0 || blockIndex >= t.blockCount) {
            throw new IllegalArgumentException("blockIndex " + blockIndex + " is out of range [0, " + t.blockCount + ")");
        }
        if (layerStart < 0 || layerCount < 1 || layerStart + layerCount > t.layerCount) {
            throw new IllegalArgumentException("layers [" + layerStart + ", " + (layerStart + layerCount)
                    + ") are out of range [0, " + t.layerCount + ")");
        }
        long expected = (long) layerCount * t.bytesPerLayer;
        if (bytes.byteSize() != expected) {
            throw new IllegalArgumentException("bytes has " + bytes.byteSize() + " bytes; " + layerCount + " layers of "
                    + t.bytesPerLayer + " bytes need " + expected);
        }
        if (!bytes.isNative()) {
            throw new IllegalArgumentException("bytes must be native memory (an off-heap MemorySegment)");
        }
    }

    @Override
    public SendResult end(TransferId id) {
        if (closed) {
            return SendResult.CLOSED;
        }
        Transfer t = transfers.get(id.value());
        if (t == null) {
            return SendResult.UNKNOWN_TRANSFER;
        }
        if (t.partActive) {
            throw new IllegalStateException("block " + t.partBlock + " of " + id + " is half sent: finish it before end");
        }
        if (t.ended) {
            return SendResult.OK;
        }
        endEncoder.wrapAndApplyHeader(controlBuffer, 0, headerEncoder).transferId(t.idValue).blockCount(t.blockCount);
        SendResult r = offer(t.publication, controlBuffer, MessageHeaderEncoder.ENCODED_LENGTH + endEncoder.encodedLength());
        if (r == SendResult.OK) {
            t.ended = true;
        }
        return r;
    }

    @Override
    public SendResult cancel(TransferId id, String reason) {
        if (closed) {
            return SendResult.CLOSED;
        }
        Transfer t = transfers.get(id.value());
        if (t == null) {
            return SendResult.UNKNOWN_TRANSFER;
        }
        sendCancel(t, FailureCode.CANCELLED, reason);
        transfers.remove(t.idValue);
        metrics.ended(t.sample, KvFailure.CANCELLED, clock.nanoTime() - t.startNs);
        release(t);
        return SendResult.OK;
    }

    @Override
    public int inFlight() {
        return transfers.size();
    }

    @Override
    public void onClose() {
        close();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int n = collect(Long.MAX_VALUE, true);
        for (int i = 0; i < n; i++) {
            Transfer t = expired[i];
            expired[i] = null;
            sendCancel(t, FailureCode.CLOSED, "sender closed");
            finish(t, KvFailure.CLOSED, "sender closed with the transfer in flight");
        }
        for (Peer p : peers.values()) {
            CloseHelper.quietClose(p.publication);
        }
        metrics.publications(-peerList.size());
        peers.clear();
        peerList.clear();
        CloseHelper.quietClose(replies);
    }

    /**
     * Closes the publications to peers that no transfer used for {@code peer-idle-timeout}: a decode node that
     * died or left (or is only quiet) holds no publication, log buffer and driver resources of this sender forever;
     * the next transfer to it opens a new one.
     */
    private int closeIdlePeers() {
        int closed = 0;
        long idleNs = settings.peerIdleTimeoutNs();
        for (int i = peerList.size() - 1; i >= 0; i--) {
            Peer p = peerList.get(i);
            if (p.inFlight == 0 && nowNs - p.lastUsedNs >= idleNs) {
                CloseHelper.quietClose(p.publication);
                peers.remove(p.destination);
                int last = peerList.size() - 1;
                peerList.set(i, peerList.get(last));
                peerList.remove(last);
                metrics.publications(-1);
                closed++;
            }
        }
        return closed;
    }

    private int checkDeadlines() {
        int n = collect(nowNs, false);
        for (int i = 0; i < n; i++) {
            Transfer t = expired[i];
            expired[i] = null;
            if (nowNs - t.deadlineNs >= 0) {
                sendCancel(t, FailureCode.DEADLINE, "sender deadline passed");
                finish(t, KvFailure.DEADLINE, "no verdict from the receiver by the deadline ("
                        + (t.deadlineNs - t.startNs) / 1_000_000 + " ms after begin)");
            } else {
                finish(t, KvFailure.RECEIVER_GONE, "the receiver disconnected before its verdict");
            }
        }
        return n;
    }

    /** Gathers into {@link #expired} the transfers past their deadline or whose receiver is gone (or all). */
    private int collect(long now, boolean all) {
        int n = 0;
        for (Iterator<Transfer> it = transfers.values().iterator(); it.hasNext(); ) {
            Transfer t = it.next();
            if (all || now - t.deadlineNs >= 0 || !t.publication.isConnected()) {
                if (n == expired.length) {
                    expired = java.util.Arrays.copyOf(expired, n * 2);
                }
                expired[n++] = t;
            }
        }
        return n;
    }

    /** The templates a sender reads on its reply channel. */
    static final int REPLY_TEMPLATES = FrameCheck.bit(AckDecoder.TEMPLATE_ID) | FrameCheck.bit(CancelDecoder.TEMPLATE_ID);

    private void onReply(DirectBuffer buffer, int offset, int length, Header header) {
        if (FrameCheck.check(buffer, offset, length, REPLY_TEMPLATES) < 0) {
            metrics.dropped(KvTransferMetrics.DropReason.FOREIGN); // of another schema, or its lengths run past the frame
            return;
        }
        headerDecoder.wrap(buffer, offset);
        int bodyOffset = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        int blockLength = headerDecoder.blockLength();
        int version = headerDecoder.version();
        switch (headerDecoder.templateId()) {
            case AckDecoder.TEMPLATE_ID -> {
                ackDecoder.wrap(buffer, bodyOffset, blockLength, version);
                Transfer t = transfers.get(ackDecoder.transferId());
                if (t == null) {
                    metrics.dropped(KvTransferMetrics.DropReason.UNKNOWN);
                    return;
                }
                metrics.frames(1);
                if (t.offeredRegion) { // the receiver maps the region, or bytes from now on
                    t.peer.region = version >= 2 && ackDecoder.regionMapped() == 1 ? REGION_MAPPED : REGION_UNMAPPABLE;
                }
                switch (ackDecoder.status()) {
                    case COMPLETED -> finish(t, null, null);
                    case REFUSED -> finish(t, KvFailure.REFUSED, ackDecoder.reason());
                    case FAILED, NULL_VAL -> {
                        KvFailure f = KvFailure.of(ackDecoder.failure());
                        finish(t, f, ackDecoder.reason());
                    }
                }
            }
            case CancelDecoder.TEMPLATE_ID -> {
                cancelDecoder.wrap(buffer, bodyOffset, blockLength, version);
                Transfer t = transfers.get(cancelDecoder.transferId());
                if (t == null) {
                    metrics.dropped(KvTransferMetrics.DropReason.UNKNOWN);
                    return;
                }
                metrics.frames(1);
                FailureCode code = cancelDecoder.failure();
                String reason = cancelDecoder.reason();
                if (code == FailureCode.CANCELLED) {
                    transfers.remove(t.idValue);
                    metrics.ended(t.sample, KvFailure.CANCELLED, nowNs - t.startNs);
                    try {
                        listener.onCancelled(t.id, reason);
                    } finally {
                        release(t);
                    }
                } else {
                    finish(t, KvFailure.of(code), reason);
                }
            }
            default -> metrics.dropped(KvTransferMetrics.DropReason.FOREIGN);
        }
    }

    /** Ends {@code t}: completed when {@code failure} is null. Removes, records, calls back, releases. */
    private void finish(Transfer t, KvFailure failure, String reason) {
        transfers.remove(t.idValue);
        metrics.ended(t.sample, failure, clock.nanoTime() - t.startNs);
        try {
            if (failure == null) {
                listener.onComplete(t.id);
            } else {
                listener.onFailed(t.id, failure, reason);
            }
        } finally {
            release(t);
        }
    }

    private void release(Transfer t) {
        if (t.peer != null) {
            t.peer.inFlight--;
            t.peer.lastUsedNs = nowNs;
        }
        t.id = null;
        t.publication = null;
        t.sample = null;
        t.peer = null;
        pool.add(t);
    }

    private void sendCancel(Transfer t, FailureCode code, String reason) {
        cancelEncoder.wrapAndApplyHeader(controlBuffer, 0, headerEncoder)
                .transferId(t.idValue)
                .failure(code)
                .reason(Frames.clip(reason));
        // Best effort: a receiver that misses it fails the transfer at its own deadline.
        offer(t.publication, controlBuffer, MessageHeaderEncoder.ENCODED_LENGTH + cancelEncoder.encodedLength());
    }

    private SendResult offer(Publication pub, DirectBuffer buffer, int length) {
        long position = pub.offer(buffer, 0, length);
        if (position < 0) {
            return failedOffer(position);
        }
        metrics.frames(1);
        return SendResult.OK;
    }

    private SendResult failedOffer(long position) {
        if (position == Publication.BACK_PRESSURED || position == Publication.ADMIN_ACTION) {
            metrics.backPressured();
            return SendResult.BACK_PRESSURED;
        }
        if (position == Publication.NOT_CONNECTED) {
            metrics.backPressured();
            return SendResult.NOT_CONNECTED;
        }
        return SendResult.CLOSED;
    }
}
