package dev.baton.kvtransfer;

import dev.baton.common.TransferId;

/**
 * Told how each transfer of a {@link KvSender} ended: exactly one call per begun transfer, on the
 * sender's thread (from {@link KvSender#doWork()} or {@link KvSender#close()}). Calls must be quick
 * and must not throw; they may call the sender (for example to begin the next transfer).
 */
public interface KvSendListener {

    /** Every part arrived at the receiver and matched its CRC32C; blocks leased for it may be released. */
    void onComplete(TransferId id);

    /**
     * The transfer failed. {@code reason} is human-readable: for {@link KvFailure#REFUSED} it is the
     * receiver's reason (for example which compatibility fields differ).
     */
    void onFailed(TransferId id, KvFailure failure, String reason);

    /** The receiver cancelled the transfer. */
    void onCancelled(TransferId id, String reason);
}
