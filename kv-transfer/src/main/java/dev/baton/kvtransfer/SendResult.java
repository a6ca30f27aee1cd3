package dev.baton.kvtransfer;

/**
 * What {@link KvSender#begin}, {@link KvSender#offerBlock}, {@link KvSender#end} and
 * {@link KvSender#cancel} did. Back-pressure is a result, never an exception: on
 * {@link #BACK_PRESSURED} and {@link #NOT_CONNECTED} the caller tries the same call again later
 * (after its own duty-cycle tick); nothing was lost and nothing needs undoing.
 */
public enum SendResult {
    /** Done: the frame (or every remaining chunk of the block part) is in the stream. */
    OK,
    /** The stream is full; call again with the same arguments. Partial progress is kept. */
    BACK_PRESSURED,
    /** No receiver is connected to the destination (yet, or any more); call again later or give up. */
    NOT_CONNECTED,
    /** The transfer is not (or no longer) in flight: never begun, or already completed, failed or cancelled. */
    UNKNOWN_TRANSFER,
    /** The sender or its stream is closed; the call cannot succeed. */
    CLOSED;

    /** True for the results worth retrying ({@link #BACK_PRESSURED}, {@link #NOT_CONNECTED}). */
    public boolean isRetryable() {
        return this == BACK_PRESSURED || this == NOT_CONNECTED;
    }
}
