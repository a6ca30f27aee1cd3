package dev.baton.kvtransfer;

import dev.baton.common.KvCompatibility;

/**
 * One transport (Aeron IPC, Aeron UDP, ...): makes senders and receivers and owns the resources they
 * share (for Aeron, the client and possibly an embedded media driver). Thread-safe; close it after
 * every sender and receiver made from it.
 */
public interface KvTransport extends AutoCloseable {

    /** The {@code transport} tag of this transport's metrics, e.g. {@code aeron-ipc}. */
    String name();

    /** A new sender whose verdicts go to {@code listener}. */
    KvSender newSender(KvSendListener listener);

    /**
     * A new sender that may hand receivers on this host the parts lying in {@code region} to copy
     * themselves, instead of their bytes. The caller then keeps those blocks unchanged until each
     * transfer's verdict (a block changed earlier fails its transfer's CRC32C check at the receiver).
     * A transport without same-host pull ignores the region; a null region is a plain sender.
     */
    default KvSender newSender(KvSendListener listener, SharedRegion region) {
        return newSender(listener);
    }

    /**
     * A new receiver on this transport's configured channel and stream, accepting only transfers whose
     * tuple equals {@code local}.
     */
    KvReceiver newReceiver(KvCompatibility local, KvTransferListener listener);

    /** Where senders reach this transport's receivers. */
    KvDestination destination();

    @Override
    void close();
}
