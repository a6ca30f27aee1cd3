package dev.baton.kvtransfer.hosttier;

/** Outcome of {@link HostTier#get}. */
public enum GetResult {
    /** The block's bytes were copied into the destination and their checksum (XXH3-64) matched. */
    HIT,
    /** No block with this hash and this handle's compatibility, or it was evicted while being read. */
    MISS,
    /** The bytes read did not match their checksum; the entry was removed and the destination holds garbage. */
    CORRUPT,
    /** The destination is shorter than {@link HostTier#blockBytes()}. */
    WRONG_SIZE
}
