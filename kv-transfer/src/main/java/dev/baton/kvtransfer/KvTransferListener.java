package dev.baton.kvtransfer;

import dev.baton.common.TransferId;
import java.lang.foreign.MemorySegment;

/**
 * The receiver's caller: supplies destination memory for accepted transfers and hears how each one
 * ended. Called on the receiver's duty-cycle thread; calls must be quick and must not throw.
 *
 * <h2>Ownership of destination blocks</h2>
 * The segments returned by {@link #onBegin} belong to the transport from that return until exactly
 * one of {@link #onComplete}, {@link #onFailed} or {@link #onCancelled} hands them back (the same
 * array); they must stay alive (their arena open) until then. After a failure or a cancel their
 * contents are undefined (possibly half written): never expose them as KV.
 */
public interface KvTransferListener {

    /**
     * A compatible transfer begins. Returns {@code blockCount} native segments of at least
     * {@code blockBytes} bytes each (block {@code i} of the transfer goes to element {@code i}), or
     * null to refuse the transfer (for example, no reservation for {@code destinationTag}).
     */
    MemorySegment[] onBegin(TransferId id, long destinationTag, int blockCount, int blockBytes);

    /** Every block arrived and matched its CRC32C; {@code transfer} is valid during this call only. */
    void onComplete(ReceivedTransfer transfer);

    /** The transfer failed; the blocks in {@code transfer} are returned. Valid during this call only. */
    void onFailed(ReceivedTransfer transfer, KvFailure failure, String reason);

    /** The transfer was cancelled by either side; the blocks are returned. Valid during this call only. */
    void onCancelled(ReceivedTransfer transfer, String reason);
}
