package dev.baton.kvtransfer.hosttier;

/**
 * A snapshot of a host tier. Tier-wide figures come from the shared slab and are the same in every
 * process; handle figures count only the calls made through one {@link HostTier} handle.
 *
 * @param entries         tier-wide: readable blocks (every compatibility)
 * @param bytes           tier-wide: bytes of readable blocks ({@code entries x blockBytes})
 * @param capacityBytes   tier-wide: the bound, {@code slots x blockBytes}
 * @param slots           tier-wide: slots in the slab
 * @param writing         tier-wide: slots being written now
 * @param evictions       tier-wide: blocks evicted to make room, since the files were created
 * @param reclaimedWrites tier-wide: slots taken back from writers that died or overran the stale-write timeout
 * @param stored          handle: blocks this handle stored
 * @param hits            handle: {@link GetResult#HIT}s
 * @param misses          handle: {@link GetResult#MISS}es
 * @param corrupt         handle: {@link GetResult#CORRUPT}s
 */
public record HostTierStats(
        long entries,
        long bytes,
        long capacityBytes,
        long slots,
        long writing,
        long evictions,
        long reclaimedWrites,
        long stored,
        long hits,
        long misses,
        long corrupt) {
}
