package dev.baton.kvtransfer;

import dev.baton.common.BlockHash;
import dev.baton.common.KvCompatibility;
import dev.baton.common.TransferId;
import java.lang.foreign.MemorySegment;
import org.agrona.concurrent.Agent;

/**
 * The sending side of KV transfers: begins transfers, offers block parts, ends them, and (in its
 * {@link #doWork()} duty cycle) reads the receivers' verdicts and enforces deadlines.
 *
 * <h2>Threading</h2>
 * Not thread-safe: one thread (typically the engine loop that produced the blocks) calls every
 * method, including {@link #doWork()}, which it must call regularly (every loop iteration, or through
 * an {@link org.agrona.concurrent.AgentRunner}-like duty cycle of its own). The {@link KvSendListener}
 * is called from {@link #doWork()} and {@link #close()} on that thread.
 *
 * <h2>One transfer</h2>
 * <pre>
 *   begin(...)                       -> OK, or retry on NOT_CONNECTED / BACK_PRESSURED
 *   offerBlock(...) for every part   -> OK, or call again with the same arguments on BACK_PRESSURED
 *   end(...)                         -> OK, or retry
 *   ... doWork() ...                 -> listener.onComplete / onFailed / onCancelled, exactly once
 * </pre>
 * A transfer that is neither completed nor failed by its deadline fails with
 * {@link KvFailure#DEADLINE}; the receiver is told (best effort) with a cancel frame.
 *
 * <h2>Ownership</h2>
 * The segments passed to {@link #offerBlock} are read during the call only; the caller keeps them
 * (and may reuse them) as soon as the call returns {@link SendResult#OK}. Keep a block leased until
 * the transfer completes: the receiver may still refuse or fail it.
 *
 * <h2>Allocation</h2>
 * {@link #offerBlock} and {@link #doWork()} allocate nothing per frame; {@link #begin} touches a
 * pooled per-transfer record and creates the destination's stream the first time a destination is
 * used (a blocking round trip to the media driver).
 */
public interface KvSender extends Agent, AutoCloseable {

    /**
     * Opens a transfer of {@code blockCount} blocks of {@code blockBytes} bytes to {@code destination}.
     *
     * @param id             the router-assigned transfer id; unique among this sender's transfers in flight
     * @param compatibility  the tuple the receiver checks before it accepts a byte
     * @param destination    the receiver's channel and stream
     * @param destinationTag opaque to the transport: handed to the receiver's
     *                       {@link KvTransferListener#onBegin} so it can pick destination blocks
     * @param blockCount     blocks in the transfer, at least 1
     * @param blockBytes     bytes of one whole block (every layer); a multiple of the layer count
     * @param deadlineNs     absolute deadline on this sender's clock ({@link System#nanoTime()})
     * @return {@link SendResult#OK}, or a retryable result (nothing was started)
     * @throws IllegalArgumentException if a size is out of range
     * @throws IllegalStateException    if {@code id} is already in flight on this sender
     */
    SendResult begin(TransferId id, KvCompatibility compatibility, KvDestination destination, long destinationTag,
            int blockCount, int blockBytes, long deadlineNs);

    /**
     * Offers one block part: layers {@code [layerStart, layerStart + layerCount)} of block
     * {@code blockIndex}, whose bytes are {@code bytes} (exactly {@code layerCount * blockBytes / layers}
     * bytes, native memory). A part bigger than one frame is split into chunks; on
     * {@link SendResult#BACK_PRESSURED} the chunks sent so far are kept and the next call with the
     * same part continues where this one stopped. No other part of this transfer may be offered
     * until the part in progress returns {@link SendResult#OK}.
     *
     * @return {@link SendResult#OK} when the whole part is in the stream
     * @throws IllegalArgumentException if the index, layer range or size is out of range, or
     *                                  {@code bytes} is not native memory
     * @throws IllegalStateException    if another part of this transfer is half sent
     */
    SendResult offerBlock(TransferId id, int blockIndex, BlockHash hash, int firstPosition, int layerStart,
            int layerCount, MemorySegment bytes);

    /**
     * Says every part has been offered. The transfer stays in flight until the receiver's verdict,
     * reported through the listener.
     */
    SendResult end(TransferId id);

    /**
     * Cancels a transfer in flight: the receiver is told (best effort) and returns its destination
     * blocks; the listener is not called for a cancel made through this method.
     *
     * @return {@link SendResult#OK}, or {@link SendResult#UNKNOWN_TRANSFER} if it is not in flight
     */
    SendResult cancel(TransferId id, String reason);

    /** Transfers begun and not yet completed, failed or cancelled. */
    int inFlight();

    /**
     * One duty cycle: reads verdicts from receivers and fails transfers past their deadline. Throws nothing.
     *
     * @return the work done (0 when idle, for the idle strategy)
     */
    @Override
    int doWork();

    /** Fails every transfer in flight with {@link KvFailure#CLOSED} and releases the streams. Idempotent. */
    @Override
    void close();
}
