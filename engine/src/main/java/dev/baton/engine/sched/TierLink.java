package dev.baton.engine.sched;

import dev.baton.common.BlockHash;
import dev.baton.engine.kv.KvTier;
import dev.baton.engine.kv.PrefixCache;
import java.lang.foreign.MemorySegment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine loop's link to a second KV tier ({@link KvTier}, the host tier): as the pool's eviction
 * listener it stores each cached block the pool evicts (<em>spill</em>), and {@link PrefixReuse} reads
 * prompt blocks back through it at admission; it counts both for {@link LoopMetrics}.
 *
 * <p>Nothing here throws into the pool or the scheduler. A block the tier cannot store is counted
 * ({@link #spillFailures()}; the first one is logged). A tier that throws is broken (its files are gone,
 * its index is locked): the failure is counted, logged once, and the loop goes on without the tier, as if
 * it had none.
 *
 * <p>Threading: the loop thread only, except the counters, which any thread may read (one writer).
 * Nothing is allocated per block.
 */
final class TierLink implements PrefixCache.EvictionListener {

    private static final Logger LOG = LoggerFactory.getLogger(TierLink.class);

    private KvTier tier;
    private boolean warnedNotStored;
    private volatile long hitBlocks;
    private volatile long hitTokens;
    private volatile long missBlocks;
    private volatile long spilledBlocks;
    private volatile long spillFailures;

    /** Starts using {@code t} (null: none); on the loop thread. */
    void attach(KvTier t) {
        tier = t;
    }

    boolean attached() {
        return tier != null;
    }

    /**
     * Reads the block under {@code hash} into {@code dst}; true on a verified hit. A miss, a block that
     * failed its check and a broken tier all return false and count as a miss.
     */
    boolean load(BlockHash hash, MemorySegment dst) {
        KvTier t = tier;
        if (t == null) {
            return false;
        }
        boolean hit = false;
        try {
            hit = t.load(hash, dst);
        } catch (RuntimeException | InternalError e) { // InternalError: a fault in mapped memory
            drop("reading a block back", e);
        }
        if (hit) {
            hitBlocks++;
        } else {
            missBlocks++;
        }
        return hit;
    }

    /** {@code tokens} prompt positions of blocks read back were reused (the request moved past them). */
    void reused(int tokens) {
        hitTokens += tokens;
    }

    @Override
    public void onEvict(BlockHash hash, int block, MemorySegment bytes) {
        KvTier t = tier;
        if (t == null) {
            return;
        }
        try {
            if (t.store(hash, bytes)) {
                spilledBlocks++;
                return;
            }
            spillFailures++;
            if (!warnedNotStored) {
                warnedNotStored = true;
                LOG.warn("the KV tier could not store an evicted block; blocks it cannot store are dropped and "
                        + "counted in baton.host.tier.spill.failures, not logged");
            }
        } catch (RuntimeException | InternalError e) {
            spillFailures++;
            drop("storing an evicted block", e);
        }
    }

    private void drop(String what, Throwable e) {
        tier = null;
        LOG.warn("the KV tier failed {}; this engine loop no longer uses it: {}", what, e.toString(), e);
    }

    /** Prompt blocks read back from the tier. */
    long hitBlocks() {
        return hitBlocks;
    }

    /** Prompt positions reused from blocks read back. */
    long hitTokens() {
        return hitTokens;
    }

    /** Read-backs that stopped at a block the tier did not give (missing, failed its check, or an error). */
    long missBlocks() {
        return missBlocks;
    }

    /** Evicted blocks the tier holds afterwards (stored, or there already). */
    long spilledBlocks() {
        return spilledBlocks;
    }

    /** Evicted blocks the tier could not store, or whose store failed. */
    long spillFailures() {
        return spillFailures;
    }
}
