package dev.baton.kvtransfer.aeron;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import dev.baton.common.TransferId;
import dev.baton.common.sbe.AckEncoder;
import dev.baton.common.sbe.AckStatus;
import dev.baton.common.sbe.BeginDecoder;
import dev.baton.common.sbe.BlockDecoder;
import dev.baton.common.sbe.BlockRefDecoder;
import dev.baton.common.sbe.CancelDecoder;
import dev.baton.common.sbe.CancelEncoder;
import dev.baton.common.sbe.EndDecoder;
import dev.baton.common.sbe.FailureCode;
import dev.baton.common.sbe.MessageHeaderDecoder;
import dev.baton.common.sbe.MessageHeaderEncoder;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.KvTransferMetrics;
import dev.baton.kvtransfer.KvTransferMetrics.DropReason;
import dev.baton.kvtransfer.ReceivedTransfer;
import dev.baton.kvtransfer.SharedRegion;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.micrometer.core.instrument.LongTaskTimer;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Aeron {@link KvReceiver}: one subscription on the transport's channel, whose images (one per
 * sender publication) interleave transfers. Block frames are copied straight from the term buffer
 * into the destination block at {@code layerStart * bytesPerLayer + chunkOffset}, and the running
 * CRC32C of the part is checked against every chunk's. Verdicts go back on a publication to each
 * sender's reply channel; one that cannot be sent at once (back-pressure, or a new reply stream still
 * connecting) is retried by the duty cycle until the transfer's deadline.
 *
 * <p>A Begin that names the sender's {@link SharedRegion} has it mapped read-only here (once per
 * region; the Ack says whether that worked); a {@code BlockRef} part of such a transfer is copied
 * from the region into the destination block in chunks, each checksummed while in cache, and
 * checked against the part's CRC32C. A region whose owner process is gone is unmapped once no
 * transfer uses it.
 */
final class AeronKvReceiver implements KvReceiver {

    private static final Logger LOG = LoggerFactory.getLogger(AeronKvReceiver.class);

    /** How many ended transfer ids are remembered to tell late frames from unknown ones. */
    static final int FINISHED_MEMORY = 4096;
    private static final long ENDED = 1;
    private static final long REFUSED = 2;

    /** Receiver-side state of one accepted transfer; pooled, and the listener's view of it. */
    private static final class Transfer implements ReceivedTransfer {
        TransferId id;
        long idValue;
        long destinationTag;
        int sessionId;
        ExclusivePublication reply;
        Reply replyOwner; // the reply publication's bookkeeping (use count, last use)
        long startNs;
        long deadlineNs;
        int blockCount;
        int layerCount;
        int bytesPerLayer;
        int wordsPerBlock;
        MemorySegment[] blocks;
        long[] address = new long[0];
        long[] hashHi = new long[0];
        long[] hashLo = new long[0];
        int[] firstPosition = new int[0];
        int[] layersReceived = new int[0];
        long[] layerBits = new long[0];
        long layersTotal;
        long bytesReceived;
        boolean partActive;
        int partBlock;
        int partLayerStart;
        int partLayerCount;
        int partBytes;
        int partOffset;
        final RunningCrc32c crc = new RunningCrc32c();
        LongTaskTimer.Sample sample;
        Region region;

        void size(int blocks, int layers) {
            if (address.length < blocks) {
                int n = Math.max(blocks, address.length * 2);
                address = new long[n];
                hashHi = new long[n];
                hashLo = new long[n];
                firstPosition = new int[n];
                layersReceived = new int[n];
            }
            wordsPerBlock = (layers + 63) >>> 6;
            int words = blocks * wordsPerBlock;
            if (layerBits.length < words) {
                layerBits = new long[Math.max(words, layerBits.length * 2)];
            }
            Arrays.fill(layersReceived, 0, blocks, 0);
            Arrays.fill(layerBits, 0, words, 0L);
        }

        /** Whether any layer of {@code [start, start + count)} of {@code block} has arrived. */
        boolean anyReceived(int block, int start, int count) {
            int base = block * wordsPerBlock;
            for (int l = start; l < start + count; l++) {
                if ((layerBits[base + (l >>> 6)] & (1L << (l & 63))) != 0) {
                    return true;
                }
            }
            return false;
        }

        void markReceived(int block, int start, int count) {
            int base = block * wordsPerBlock;
            for (int l = start; l < start + count; l++) {
                layerBits[base + (l >>> 6)] |= 1L << (l & 63);
            }
            layersReceived[block] += count;
            layersTotal += count;
        }

        @Override
        public TransferId id() {
            return id;
        }

        @Override
        public long destinationTag() {
            return destinationTag;
        }

        @Override
        public int blockCount() {
            return blockCount;
        }

        @Override
        public MemorySegment[] blocks() {
            return blocks;
        }

        @Override
        public boolean isBlockComplete(int index) {
            return layersReceived[checkIndex(index)] == layerCount;
        }

        @Override
        public BlockHash blockHash(int index) {
            checkIndex(index);
            return new BlockHash(hashHi[index], hashLo[index]);
        }

        @Override
        public int firstPosition(int index) {
            return firstPosition[checkIndex(index)];
        }

        @Override
        public long bytesReceived() {
            return bytesReceived;
        }

        private int checkIndex(int index) {
            if (index < 0 || index >= blockCount) {
                throw new IndexOutOfBoundsException("block index " + index + " out of range [0, " + blockCount + ")");
            }
            return index;
        }
    }

    /** A sender's region mapped here, and the transfers in flight that name it. */
    private static final class Region {
        final SharedRegion.Mapping mapping;
        final long address;
        final long bytes;
        int users;

        Region(SharedRegion.Mapping mapping) {
            this.mapping = mapping;
            this.address = mapping.segment().address();
            this.bytes = mapping.segment().byteSize();
        }
    }

    /**
     * Bytes copied and checksummed at a time out of a sender's region: they are in L1 for the CRC, and
     * the CRC is short enough that the prefetcher's lead keeps the copy's memory stream going (as the
     * host tier's {@code HostTier.CHUNK_BYTES}).
     */
    private static final int PULL_CHUNK_BYTES = 4096;
    /** How often regions of vanished senders are looked for. */
    private static final long REGION_SWEEP_NS = 5_000_000_000L;
    /** Regions that could not be mapped, remembered so a Begin does not retry each time. */
    private static final int REGION_FAILURES_KEPT = 256;

    /** A verdict frame waiting for its reply stream; pooled. */
    private static final class PendingReply {
        final UnsafeBuffer bytes = new UnsafeBuffer(ByteBuffer.allocateDirect(Frames.CONTROL_BUFFER_BYTES));
        int length;
        ExclusivePublication publication;
        long expiryNs;
    }

    private final Aeron aeron;
    private final AeronTransportSettings settings;
    private final KvCompatibility local;
    private final KvTransferListener listener;
    private final KvTransferMetrics metrics;
    private final NanoClock clock;
    private final Subscription data;
    private final FragmentAssembler assembler;

    /** A publication to a sender's reply channel: how many transfers use it, and when one last did. */
    private static final class Reply {
        final KvDestination key;
        final ExclusivePublication publication;
        int inFlight;
        long lastUsedNs;

        Reply(KvDestination key, ExclusivePublication publication) {
            this.key = key;
            this.publication = publication;
        }
    }

    private final Map<KvDestination, Reply> replyPublications = new HashMap<>();
    private final java.util.ArrayList<Reply> replyList = new java.util.ArrayList<>(); // walked without allocating
    private long nextReplyCheckNs;
    private final Long2ObjectHashMap<Transfer> transfers = new Long2ObjectHashMap<>();
    private final ArrayDeque<Transfer> pool = new ArrayDeque<>();
    private final Long2LongHashMap finished = new Long2LongHashMap(0);
    private final long[] finishedRing = new long[FINISHED_MEMORY];
    private int finishedNext;
    private int finishedCount;
    private final ArrayDeque<PendingReply> pendingReplies = new ArrayDeque<>();
    private final ArrayDeque<PendingReply> replyPool = new ArrayDeque<>();
    private final ManyToOneConcurrentArrayQueue<TransferId> cancels = new ManyToOneConcurrentArrayQueue<>(1024);
    private Transfer[] expired = new Transfer[16];

    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final BeginDecoder beginDecoder = new BeginDecoder();
    private final BlockDecoder blockDecoder = new BlockDecoder();
    private final BlockRefDecoder blockRefDecoder = new BlockRefDecoder();
    private final Long2ObjectHashMap<Region> regions = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<String> regionFailures = new Long2ObjectHashMap<>();
    private final UnsafeBuffer pullSource = new UnsafeBuffer(0, 0);
    private long nextRegionSweepNs;
    private final EndDecoder endDecoder = new EndDecoder();
    private final CancelDecoder cancelDecoder = new CancelDecoder();
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final AckEncoder ackEncoder = new AckEncoder();
    private final CancelEncoder cancelEncoder = new CancelEncoder();
    private final UnsafeBuffer controlBuffer = new UnsafeBuffer(ByteBuffer.allocateDirect(Frames.CONTROL_BUFFER_BYTES));
    private final UnsafeBuffer destination = new UnsafeBuffer(0, 0);

    private long nowNs;
    private long nextCheckNs;
    private boolean closed;

    AeronKvReceiver(Aeron aeron, AeronTransportSettings settings, KvCompatibility local, KvTransferListener listener,
            KvTransferMetrics metrics, NanoClock clock) {
        this.aeron = aeron;
        this.settings = settings;
        this.local = local;
        this.listener = listener;
        this.metrics = metrics;
        this.clock = clock;
        this.data = aeron.addSubscription(settings.subscriptionChannel(settings.channel()), settings.streamId());
        this.assembler = new FragmentAssembler(this::onFrame);
        this.nowNs = clock.nanoTime();
    }

    @Override
    public String roleName() {
        return "kv-receiver-" + settings.name();
    }

    @Override
    public int doWork() {
        if (closed) {
            return 0;
        }
        nowNs = clock.nanoTime();
        int work = data.poll(assembler, settings.fragmentLimit());
        work += drainCancels();
        if (!pendingReplies.isEmpty()) {
            work += retryReplies();
        }
        if (nowNs - nextCheckNs >= 0) {
            nextCheckNs = nowNs + Frames.CHECK_INTERVAL_NS;
            work += checkDeadlines();
        }
        if (nowNs - nextReplyCheckNs >= 0) {
            nextReplyCheckNs = nowNs + REGION_SWEEP_NS;
            work += closeIdleReplies();
        }
        if (!regions.isEmpty() && nowNs - nextRegionSweepNs >= 0) {
            nextRegionSweepNs = nowNs + REGION_SWEEP_NS;
            work += sweepRegions();
        }
        return work;
    }

    @Override
    public boolean cancel(TransferId id) {
        return cancels.offer(id);
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
            sendCancel(t, FailureCode.CLOSED, "receiver closed");
            fail(t, KvFailure.CLOSED, "receiver closed with the transfer in flight", false);
        }
        for (Reply r : replyList) {
            CloseHelper.quietClose(r.publication);
        }
        metrics.publications(-replyList.size());
        replyPublications.clear();
        replyList.clear();
        pendingReplies.clear();
        CloseHelper.quietClose(data);
        for (Region r : regions.values()) {
            r.mapping.close();
        }
        regions.clear();
    }

    /** The mapped region a Begin names, mapping it the first time; null (and the reason remembered) if it cannot be. */
    private Region region(long pid, int fd, long token, long bytes) {
        Region r = regions.get(token);
        if (r != null) {
            return r.bytes == bytes ? r : null;
        }
        if (regionFailures.containsKey(token)) {
            return null;
        }
        try {
            r = new Region(SharedRegion.open(pid, fd, token, bytes));
            regions.put(token, r);
            LOG.info("kv-transfer {}: mapped the shared KV region of process {} ({}): its blocks are copied from it",
                    settings.name(), pid, bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : bytes + " bytes");
            return r;
        } catch (RuntimeException e) {
            if (regionFailures.size() >= REGION_FAILURES_KEPT) {
                regionFailures.clear();
            }
            regionFailures.put(token, String.valueOf(e.getMessage()));
            LOG.warn("kv-transfer {}: cannot map the shared KV region of process {}, its blocks come as bytes: {}",
                    settings.name(), pid, e.getMessage());
            return null;
        }
    }

    /** Unmaps regions no transfer uses whose owner process is gone. */
    private int sweepRegions() {
        int n = 0;
        for (Iterator<Region> it = regions.values().iterator(); it.hasNext(); ) {
            Region r = it.next();
            if (r.users == 0 && !r.mapping.ownerAlive()) {
                it.remove();
                r.mapping.close();
                LOG.info("kv-transfer {}: unmapped the shared KV region {} of a process that is gone", settings.name(),
                        Long.toHexString(r.mapping.token()));
                n++;
            }
        }
        return n;
    }

    /** The templates a receiver reads; anything else on its data channel is dropped as foreign. */
    static final int RECEIVED_TEMPLATES = FrameCheck.bit(BeginDecoder.TEMPLATE_ID) | FrameCheck.bit(BlockDecoder.TEMPLATE_ID)
            | FrameCheck.bit(BlockRefDecoder.TEMPLATE_ID) | FrameCheck.bit(EndDecoder.TEMPLATE_ID)
            | FrameCheck.bit(CancelDecoder.TEMPLATE_ID);

    private void onFrame(DirectBuffer buffer, int offset, int length, Header header) {
        if (FrameCheck.check(buffer, offset, length, RECEIVED_TEMPLATES) < 0) {
            metrics.dropped(DropReason.FOREIGN); // of another schema, or its lengths run past the frame
            return;
        }
        headerDecoder.wrap(buffer, offset);
        int body = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        int blockLength = headerDecoder.blockLength();
        int version = headerDecoder.version();
        switch (headerDecoder.templateId()) {
            case BlockDecoder.TEMPLATE_ID -> onBlock(buffer, body, blockLength, version, header.sessionId());
            case BlockRefDecoder.TEMPLATE_ID -> onBlockRef(buffer, body, blockLength, version, header.sessionId());
            case BeginDecoder.TEMPLATE_ID -> onBegin(buffer, body, blockLength, version, header.sessionId());
            case EndDecoder.TEMPLATE_ID -> onEnd(buffer, body, blockLength, version, header.sessionId());
            case CancelDecoder.TEMPLATE_ID -> onCancel(buffer, body, blockLength, version, header.sessionId());
            default -> metrics.dropped(DropReason.FOREIGN);
        }
    }

    private void onBegin(DirectBuffer buffer, int offset, int blockLength, int version, int sessionId) {
        BeginDecoder d = beginDecoder.wrap(buffer, offset, blockLength, version);
        long idValue = d.transferId();
        if (transfers.containsKey(idValue) || finished.containsKey(idValue)) {
            metrics.dropped(DropReason.LATE);
            return;
        }
        metrics.frames(1);
        long destinationTag = d.destinationTag();
        long timeoutNs = d.timeoutNs();
        int blockCount = d.blockCount();
        int blockBytes = d.blockBytes();
        int replyStreamId = d.replyStreamId();
        long regionToken = version >= 2 ? d.regionToken() : 0;
        boolean pull = version >= 2 && d.pull() == 1;
        Region region = regionToken == 0 ? null : region(d.regionPid(), d.regionFd(), regionToken, d.regionBytes());
        // Variable-length fields are read in schema order, after every fixed field.
        KvCompatibility remote = new KvCompatibility(new ModelFingerprint(d.modelFingerprintHi(), d.modelFingerprintLo()),
                d.dtype(), d.blockSize(), d.layout(), d.layerCount(), d.kvHeadCount(), d.headDim(), d.kvProtocolVersion());
        String replyChannel = d.replyChannel();
        ExclusivePublication reply;
        Reply replyOwner;
        try {
            replyOwner = replyPublication(replyChannel, replyStreamId);
            reply = replyOwner.publication;
        } catch (RuntimeException e) { // not a channel Aeron can publish on: no verdict can be sent
            metrics.refused();
            remember(idValue, REFUSED);
            return;
        }
        TransferId id = new TransferId(idValue);
        long expiryNs = nowNs + Math.min(Math.max(timeoutNs, 0), settings.maxTransferTimeoutNs());

        String refusal = local.mismatch(remote);
        if (refusal == null) {
            refusal = checkSizes(blockCount, blockBytes, remote.layerCount());
        }
        if (refusal == null && pull && region == null) {
            String why = regionFailures.get(regionToken);
            refusal = "cannot copy from the sender's shared region: " + (why != null ? why : "its size changed");
        }
        MemorySegment[] blocks = null;
        if (refusal == null) {
            blocks = listener.onBegin(id, destinationTag, blockCount, blockBytes);
            refusal = checkBlocks(blocks, blockCount, blockBytes, destinationTag);
        }
        if (refusal != null) {
            metrics.refused();
            remember(idValue, REFUSED);
            reply(reply, idValue, AckStatus.REFUSED, FailureCode.REFUSED, refusal, expiryNs, region != null);
            return;
        }
        Transfer t = pool.isEmpty() ? new Transfer() : pool.poll();
        t.id = id;
        t.idValue = idValue;
        t.destinationTag = destinationTag;
        t.sessionId = sessionId;
        t.reply = reply;
        t.replyOwner = replyOwner;
        replyOwner.inFlight++;
        t.startNs = nowNs;
        t.deadlineNs = expiryNs;
        t.blockCount = blockCount;
        t.layerCount = remote.layerCount();
        t.bytesPerLayer = blockBytes / t.layerCount;
        t.blocks = blocks;
        t.size(blockCount, t.layerCount);
        for (int i = 0; i < blockCount; i++) {
            t.address[i] = blocks[i].address();
        }
        t.layersTotal = 0;
        t.bytesReceived = 0;
        t.partActive = false;
        t.region = region;
        if (region != null) {
            region.users++;
        }
        t.sample = metrics.startTransfer();
        transfers.put(idValue, t);
    }

    private static String checkSizes(int blockCount, int blockBytes, int layers) {
        if (blockCount < 1) {
            return "block count " + blockCount + " must be at least 1";
        }
        if (layers < 1 || blockBytes < layers || blockBytes % layers != 0) {
            return "block bytes " + blockBytes + " must be a positive multiple of the layer count " + layers;
        }
        if ((long) blockCount * layers > Integer.MAX_VALUE / 2) {
            return "block count " + blockCount + " times layer count " + layers + " is over the limit " + Integer.MAX_VALUE / 2;
        }
        return null;
    }

    private static String checkBlocks(MemorySegment[] blocks, int blockCount, int blockBytes, long tag) {
        if (blocks == null) {
            return "the receiver has no destination blocks for tag " + tag;
        }
        if (blocks.length != blockCount) {
            return "the receiver supplied " + blocks.length + " destination blocks for " + blockCount;
        }
        for (int i = 0; i < blocks.length; i++) {
            MemorySegment b = blocks[i];
            if (b == null || !b.isNative() || b.byteSize() < blockBytes || b.isReadOnly()) {
                return "destination block " + i + " is not a writable native segment of at least " + blockBytes + " bytes";
            }
        }
        return null;
    }

    /**
     * The transfer a frame of {@code sessionId} belongs to, the frame counted; null (the frame dropped and
     * counted) if none. Only the publication whose Begin was accepted (the handshake) may feed a transfer:
     * a frame from any other session, even one naming a transfer in flight, is dropped unread.
     */
    private Transfer frameOf(long idValue, int sessionId) {
        Transfer t = transfers.get(idValue);
        if (t == null) {
            drop(idValue);
            return null;
        }
        if (t.sessionId != sessionId) {
            metrics.dropped(DropReason.WRONG_SESSION);
            return null;
        }
        metrics.frames(1);
        return t;
    }

    private void onBlock(DirectBuffer buffer, int offset, int blockLength, int version, int sessionId) {
        BlockDecoder d = blockDecoder.wrap(buffer, offset, blockLength, version);
        Transfer t = frameOf(d.transferId(), sessionId);
        if (t == null) {
            return;
        }
        int block = d.blockIndex();
        int layerStart = d.layerStart();
        int layerCount = d.layerCount();
        int partBytes = d.partBytes();
        int chunkOffset = d.chunkOffset();
        int crc = d.crc32c();
        int length = d.payloadLength();
        if (chunkOffset == 0 && !t.partActive) {
            if (!startPart(t, block, layerStart, layerCount, partBytes, d.blockHashHi(), d.blockHashLo(),
                    d.firstPosition())) {
                return;
            }
            t.partActive = true;
            t.partBlock = block;
            t.partLayerStart = layerStart;
            t.partLayerCount = layerCount;
            t.partBytes = partBytes;
            t.partOffset = 0;
            t.crc.reset();
        } else if (!t.partActive || block != t.partBlock || layerStart != t.partLayerStart || chunkOffset != t.partOffset
                || partBytes != t.partBytes) {
            failAndTell(t, KvFailure.PROTOCOL, "chunk at offset " + chunkOffset + " of block " + block
                    + " does not continue the part in progress");
            return;
        }
        if (length < 1 || length > partBytes - chunkOffset) {
            failAndTell(t, KvFailure.PROTOCOL, "chunk of " + length + " bytes at offset " + chunkOffset
                    + " overruns a part of " + partBytes + " bytes");
            return;
        }
        long target = t.address[block] + (long) layerStart * t.bytesPerLayer + chunkOffset;
        destination.wrap(target, length);
        d.getPayload(destination, 0, length);
        t.crc.update(target, length);
        if (t.crc.value() != crc) {
            failAndTell(t, KvFailure.CRC_MISMATCH, "block " + block + " layers [" + layerStart + ", "
                    + (layerStart + layerCount) + "): CRC32C " + Integer.toHexString(t.crc.value()) + " of bytes [0, "
                    + (chunkOffset + length) + ") does not match the frame's " + Integer.toHexString(crc));
            return;
        }
        t.partOffset = chunkOffset + length;
        t.bytesReceived += length;
        metrics.bytes(length);
        if (t.partOffset == partBytes) {
            t.partActive = false;
            t.markReceived(block, layerStart, layerCount);
        }
    }

    /**
     * Checks a new part's block and layer range against the transfer (in range, not yet received,
     * the same block hash as the block's other parts) and records its hash and first position; fails
     * the transfer and returns false if it does not fit.
     */
    private boolean startPart(Transfer t, int block, int layerStart, int layerCount, int partBytes, long hashHi,
            long hashLo, int firstPosition) {
        if (block < 0 || block >= t.blockCount || layerStart < 0 || layerCount < 1
                || layerStart + layerCount > t.layerCount || (long) layerCount * t.bytesPerLayer != partBytes) {
            failAndTell(t, KvFailure.PROTOCOL, "block " + block + " layers [" + layerStart + ", "
                    + (layerStart + layerCount) + ") of " + partBytes + " bytes is out of range for " + t.blockCount
                    + " blocks of " + t.layerCount + " layers of " + t.bytesPerLayer + " bytes");
            return false;
        }
        if (t.anyReceived(block, layerStart, layerCount)) {
            failAndTell(t, KvFailure.PROTOCOL, "block " + block + " layers [" + layerStart + ", "
                    + (layerStart + layerCount) + ") arrived twice");
            return false;
        }
        if (t.layersReceived[block] > 0 && (t.hashHi[block] != hashHi || t.hashLo[block] != hashLo)) {
            failAndTell(t, KvFailure.PROTOCOL, "block " + block + " parts carry different block hashes");
            return false;
        }
        t.hashHi[block] = hashHi;
        t.hashLo[block] = hashLo;
        t.firstPosition[block] = firstPosition;
        return true;
    }

    private void onBlockRef(DirectBuffer buffer, int offset, int blockLength, int version, int sessionId) {
        BlockRefDecoder d = blockRefDecoder.wrap(buffer, offset, blockLength, version);
        Transfer t = frameOf(d.transferId(), sessionId);
        if (t == null) {
            return;
        }
        int block = d.blockIndex();
        int layerStart = d.layerStart();
        int layerCount = d.layerCount();
        int partBytes = d.partBytes();
        long regionOffset = d.regionOffset();
        Region region = t.region;
        if (region == null) {
            failAndTell(t, KvFailure.PROTOCOL, "a block reference in a transfer that named no shared region");
            return;
        }
        if (t.partActive) {
            failAndTell(t, KvFailure.PROTOCOL, "a block reference while block " + t.partBlock + " is half received");
            return;
        }
        if (!startPart(t, block, layerStart, layerCount, partBytes, d.blockHashHi(), d.blockHashLo(),
                d.firstPosition())) {
            return;
        }
        if (regionOffset < 0 || regionOffset > region.bytes - partBytes) {
            failAndTell(t, KvFailure.PROTOCOL, "block " + block + " at offset " + regionOffset + " (" + partBytes
                    + " bytes) lies outside the sender's region of " + region.bytes + " bytes");
            return;
        }
        long target = t.address[block] + (long) layerStart * t.bytesPerLayer;
        long from = region.address + regionOffset;
        t.crc.reset();
        for (int done = 0; done < partBytes; ) {
            int n = Math.min(PULL_CHUNK_BYTES, partBytes - done);
            pullSource.wrap(from + done, n);
            destination.wrap(target + done, n);
            destination.putBytes(0, pullSource, 0, n);
            t.crc.update(target + done, n);
            done += n;
        }
        if (t.crc.value() != d.crc32c()) {
            failAndTell(t, KvFailure.CRC_MISMATCH, "block " + block + " layers [" + layerStart + ", "
                    + (layerStart + layerCount) + "): CRC32C " + Integer.toHexString(t.crc.value())
                    + " of the bytes copied from the sender's region does not match the reference's "
                    + Integer.toHexString(d.crc32c()) + " (the sender changed the block before the verdict)");
            return;
        }
        t.bytesReceived += partBytes;
        metrics.pulled(partBytes);
        t.markReceived(block, layerStart, layerCount);
    }

    private void onEnd(DirectBuffer buffer, int offset, int blockLength, int version, int sessionId) {
        EndDecoder d = endDecoder.wrap(buffer, offset, blockLength, version);
        Transfer t = frameOf(d.transferId(), sessionId);
        if (t == null) {
            return;
        }
        long expected = (long) t.blockCount * t.layerCount;
        if (t.partActive || t.layersTotal != expected || d.blockCount() != t.blockCount) {
            failAndTell(t, KvFailure.PROTOCOL, "end after " + t.layersTotal + " of " + expected
                    + " block layers (block count " + d.blockCount() + ", expected " + t.blockCount + ")");
            return;
        }
        transfers.remove(t.idValue);
        remember(t.idValue, ENDED);
        reply(t.reply, t.idValue, AckStatus.COMPLETED, FailureCode.NONE, "", t.deadlineNs, t.region != null);
        metrics.ended(t.sample, null, nowNs - t.startNs);
        try {
            listener.onComplete(t);
        } finally {
            release(t);
        }
    }

    private void onCancel(DirectBuffer buffer, int offset, int blockLength, int version, int sessionId) {
        CancelDecoder d = cancelDecoder.wrap(buffer, offset, blockLength, version);
        Transfer t = frameOf(d.transferId(), sessionId);
        if (t == null) {
            return;
        }
        FailureCode code = d.failure();
        String reason = "sender: " + d.reason();
        if (code == FailureCode.CANCELLED) {
            transfers.remove(t.idValue);
            remember(t.idValue, ENDED);
            metrics.ended(t.sample, KvFailure.CANCELLED, nowNs - t.startNs);
            try {
                listener.onCancelled(t, reason);
            } finally {
                release(t);
            }
        } else {
            fail(t, KvFailure.of(code), reason, false);
        }
    }

    private void drop(long idValue) {
        long kind = finished.get(idValue);
        metrics.dropped(kind == ENDED ? DropReason.LATE : kind == REFUSED ? DropReason.REFUSED : DropReason.UNKNOWN);
    }

    private int drainCancels() {
        int n = 0;
        TransferId id;
        while ((id = cancels.poll()) != null) {
            n++;
            Transfer t = transfers.get(id.value());
            if (t == null) {
                continue;
            }
            sendCancel(t, FailureCode.CANCELLED, "cancelled by the receiver");
            transfers.remove(t.idValue);
            remember(t.idValue, ENDED);
            metrics.ended(t.sample, KvFailure.CANCELLED, nowNs - t.startNs);
            try {
                listener.onCancelled(t, "cancelled by the receiver");
            } finally {
                release(t);
            }
        }
        return n;
    }

    private int checkDeadlines() {
        int n = collect(nowNs, false);
        for (int i = 0; i < n; i++) {
            Transfer t = expired[i];
            expired[i] = null;
            if (nowNs - t.deadlineNs >= 0) {
                failAndTell(t, KvFailure.DEADLINE, "not finished by the deadline ("
                        + (t.deadlineNs - t.startNs) / 1_000_000 + " ms after begin); " + t.bytesReceived + " bytes arrived");
            } else {
                fail(t, KvFailure.SENDER_GONE, "the sender's stream went away after " + t.bytesReceived + " bytes", false);
            }
        }
        return n;
    }

    private int collect(long now, boolean all) {
        int n = 0;
        for (Iterator<Transfer> it = transfers.values().iterator(); it.hasNext(); ) {
            Transfer t = it.next();
            if (all || now - t.deadlineNs >= 0 || data.imageBySessionId(t.sessionId) == null) {
                if (n == expired.length) {
                    expired = Arrays.copyOf(expired, n * 2);
                }
                expired[n++] = t;
            }
        }
        return n;
    }

    /** Fails {@code t} and tells its sender why. */
    private void failAndTell(Transfer t, KvFailure failure, String reason) {
        fail(t, failure, reason, true);
    }

    private void fail(Transfer t, KvFailure failure, String reason, boolean tell) {
        transfers.remove(t.idValue);
        remember(t.idValue, ENDED);
        if (tell) {
            reply(t.reply, t.idValue, AckStatus.FAILED, failure.code(), reason, t.deadlineNs, t.region != null);
        }
        metrics.ended(t.sample, failure, nowNs - t.startNs);
        try {
            listener.onFailed(t, failure, reason);
        } finally {
            release(t);
        }
    }

    private void release(Transfer t) {
        if (t.region != null) {
            t.region.users--;
            t.region = null;
        }
        if (t.replyOwner != null) {
            t.replyOwner.inFlight--;
            t.replyOwner.lastUsedNs = nowNs;
            t.replyOwner = null;
        }
        t.id = null;
        t.blocks = null;
        t.reply = null;
        t.sample = null;
        pool.add(t);
    }

    private void remember(long idValue, long kind) {
        if (finishedCount == FINISHED_MEMORY) {
            finished.remove(finishedRing[finishedNext]);
        } else {
            finishedCount++;
        }
        finishedRing[finishedNext] = idValue;
        finishedNext = (finishedNext + 1) % FINISHED_MEMORY;
        finished.put(idValue, kind);
    }

    private Reply replyPublication(String channel, int streamId) {
        KvDestination key = new KvDestination(channel, streamId);
        Reply r = replyPublications.get(key);
        if (r == null) {
            r = new Reply(key, aeron.addExclusivePublication(settings.publicationChannel(channel), streamId));
            replyPublications.put(key, r);
            replyList.add(r);
            metrics.publications(1);
        }
        r.lastUsedNs = nowNs;
        return r;
    }

    /**
     * Closes the reply publications that no transfer used for {@code peer-idle-timeout}: a prefill node that died
     * or left holds none of this receiver's publications and driver resources forever (a reply still waiting to be
     * sent on one has passed its deadline by then); the next transfer from it opens a new one.
     */
    private int closeIdleReplies() {
        int closed = 0;
        for (int i = replyList.size() - 1; i >= 0; i--) {
            Reply r = replyList.get(i);
            if (r.inFlight == 0 && nowNs - r.lastUsedNs >= settings.peerIdleTimeoutNs()) {
                CloseHelper.quietClose(r.publication);
                replyPublications.remove(r.key);
                int last = replyList.size() - 1;
                replyList.set(i, replyList.get(last));
                replyList.remove(last);
                metrics.publications(-1);
                closed++;
            }
        }
        return closed;
    }

    private void sendCancel(Transfer t, FailureCode code, String reason) {
        cancelEncoder.wrapAndApplyHeader(controlBuffer, 0, headerEncoder)
                .transferId(t.idValue)
                .failure(code)
                .reason(Frames.clip(reason));
        send(t.reply, MessageHeaderEncoder.ENCODED_LENGTH + cancelEncoder.encodedLength(), t.deadlineNs);
    }

    private void reply(ExclusivePublication pub, long idValue, AckStatus status, FailureCode failure, String reason,
            long expiryNs, boolean regionMapped) {
        ackEncoder.wrapAndApplyHeader(controlBuffer, 0, headerEncoder)
                .transferId(idValue)
                .status(status)
                .failure(failure)
                .regionMapped((short) (regionMapped ? 1 : 0))
                .reason(Frames.clip(reason));
        send(pub, MessageHeaderEncoder.ENCODED_LENGTH + ackEncoder.encodedLength(), expiryNs);
    }

    /** Offers the frame in {@link #controlBuffer}; queues it for retry if the stream cannot take it now. */
    private void send(ExclusivePublication pub, int length, long expiryNs) {
        if (pendingReplies.isEmpty() && pub.offer(controlBuffer, 0, length) > 0) {
            metrics.frames(1);
            return;
        }
        PendingReply p = replyPool.isEmpty() ? new PendingReply() : replyPool.poll();
        p.bytes.putBytes(0, controlBuffer, 0, length);
        p.length = length;
        p.publication = pub;
        p.expiryNs = expiryNs;
        pendingReplies.add(p);
    }

    private int retryReplies() {
        int n = 0;
        while (!pendingReplies.isEmpty()) {
            PendingReply p = pendingReplies.peek();
            if (nowNs - p.expiryNs >= 0 || p.publication.isClosed()) {
                metrics.backPressured();
            } else if (p.publication.offer(p.bytes, 0, p.length) > 0) {
                metrics.frames(1);
            } else {
                break;
            }
            pendingReplies.poll();
            p.publication = null;
            replyPool.add(p);
            n++;
        }
        return n;
    }
}
