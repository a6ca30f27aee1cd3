package dev.baton.kvtransfer.hosttier;

/** Outcome of {@link HostTier#put}, {@link HostTier#tryClaim} and {@link HostTierClaim#commit()}. */
public enum PutResult {
    /** The block is stored and readable by every process on the host. */
    STORED,
    /** {@link HostTier#tryClaim} only: a slot is held for the caller to fill and commit. */
    CLAIMED,
    /** A block with this hash and compatibility is already stored (its last access was refreshed); nothing was written. */
    ALREADY_PRESENT,
    /** Every slot is being written right now; nothing could be evicted. Try later or skip the block. */
    NO_SPACE,
    /** The source is not exactly {@link HostTier#blockBytes()} long. */
    WRONG_SIZE,
    /** The claim was held past the stale-write timeout and another process took the slot back; nothing was stored. */
    EXPIRED
}
