package dev.baton.kvtransfer.hosttier;

import java.lang.foreign.MemorySegment;

/**
 * A slot of the host tier held for writing in place, filled by {@link HostTier#tryClaim}: write the
 * block into {@link #buffer()}, then {@link #commit()} (computes the checksum and makes it readable) or
 * {@link #abort()}. Reusable: after commit or abort it holds nothing and can be passed to
 * {@code tryClaim} again, so a writer allocates one per thread, not one per block.
 *
 * <p>Not thread-safe: one thread fills and commits a claim. The buffer is a view of shared memory
 * owned by the tier; it must not be used after commit, abort or the tier's close.
 */
public final class HostTierClaim {

    private HostTier tier;
    private long ref = HostTierIndex.NONE;
    private long hashHi;
    private long hashLo;
    private MemorySegment buffer;

    void hold(HostTier t, long r, long hi, long lo, MemorySegment b) {
        tier = t;
        ref = r;
        hashHi = hi;
        hashLo = lo;
        buffer = b;
    }

    /** Whether this claim holds a slot (between a CLAIMED {@code tryClaim} and commit or abort). */
    public boolean isHeld() {
        return ref != HostTierIndex.NONE;
    }

    /** The slot's {@link HostTier#blockBytes()} bytes to write the block into. */
    public MemorySegment buffer() {
        requireHeld();
        return buffer;
    }

    /**
     * Seals the block: XXH3-64 checksum of the buffer, WRITING → READY, publish in the index.
     *
     * @return {@link PutResult#STORED}, {@link PutResult#ALREADY_PRESENT} (another writer published the
     *         same block first; this slot is freed) or {@link PutResult#EXPIRED} (held past the
     *         stale-write timeout and taken back)
     */
    public PutResult commit() {
        requireHeld();
        try {
            return tier.commitClaim(ref, hashHi, hashLo);
        } finally {
            release();
        }
    }

    /** Gives the slot back unwritten; false when it had already been taken back (expired). */
    public boolean abort() {
        requireHeld();
        try {
            return tier.abortClaim(ref);
        } finally {
            release();
        }
    }

    private void requireHeld() {
        if (ref == HostTierIndex.NONE) {
            throw new IllegalStateException("the claim holds no slot");
        }
    }

    private void release() {
        tier = null;
        ref = HostTierIndex.NONE;
        buffer = null;
    }
}
