package dev.baton.kvtransfer;

import dev.baton.common.sbe.FailureCode;

/**
 * Why a transfer ended without completing; the {@code reason} tag of the failure metric (lower case).
 * Each value has the same name as its wire code in the SBE schema ({@link FailureCode}).
 */
public enum KvFailure {
    /** The receiver refused the begin frame: incompatible tuple, bad sizes or no destination blocks. */
    REFUSED,
    /** The transfer was not finished by its deadline (a stalled or dead peer). */
    DEADLINE,
    /** A block part's bytes did not match its CRC32C. */
    CRC_MISMATCH,
    /** A frame arrived out of order, out of range or malformed. */
    PROTOCOL,
    /** The sender's stream went away before the transfer ended. */
    SENDER_GONE,
    /** The receiver's stream went away before the transfer ended. */
    RECEIVER_GONE,
    /** Cancelled by a caller on either side. */
    CANCELLED,
    /** The local sender or receiver was closed with the transfer in flight. */
    CLOSED;

    private final String tag = name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');

    /** The metric tag value, e.g. {@code crc-mismatch}. */
    public String tag() {
        return tag;
    }

    /** The wire code of this failure. */
    public FailureCode code() {
        return FailureCode.valueOf(name());
    }

    /** The failure for a wire code; {@link #PROTOCOL} for {@code NONE} or an unknown code. */
    public static KvFailure of(FailureCode code) {
        return switch (code) {
            case REFUSED -> REFUSED;
            case DEADLINE -> DEADLINE;
            case CRC_MISMATCH -> CRC_MISMATCH;
            case PROTOCOL, NONE, NULL_VAL -> PROTOCOL;
            case SENDER_GONE -> SENDER_GONE;
            case RECEIVER_GONE -> RECEIVER_GONE;
            case CANCELLED -> CANCELLED;
            case CLOSED -> CLOSED;
        };
    }
}
