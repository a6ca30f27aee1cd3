package dev.baton.engine.sched;

import dev.baton.common.BlockHash;
import dev.baton.common.protocol.KvEvents;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvEventListener;
import dev.baton.engine.kv.PrefixCache;
import java.util.function.Consumer;

/**
 * Feeds a node's prefix-cache changes to the cluster (docs/design.md §6): hears the pool's
 * {@code Stored}/{@code Removed}/{@code Cleared} events on the loop thread, numbers them in a
 * {@link KvEvents.Log}, and publishes one {@link KvEvents.Batch} per loop iteration that had any.
 * Answers a router's resync with the pool's whole state, numbered consistently with the batches.
 *
 * <p>Everything runs on the loop thread; {@link #start} installs it there.
 */
public final class KvEventFeed implements KvEventListener, LoopAgent {

    private final KvEvents.Log log;
    private final Consumer<KvEvents.Batch> publish;
    private final KvBlockPool pool;
    private volatile long published;

    private KvEventFeed(KvEvents.Log log, Consumer<KvEvents.Batch> publish, KvBlockPool pool) {
        this.log = log;
        this.publish = publish;
        this.pool = pool;
    }

    /**
     * Starts feeding {@code loop}'s pool events into {@code log}, whose batches go out through
     * {@link KvEvents.Log#publish} once the node's actor has bound it.
     */
    public static KvEventFeed start(EngineLoop loop, KvBlockPool pool, KvEvents.Log log) {
        KvEventFeed feed = new KvEventFeed(log, log::publish, pool);
        loop.execute(() -> pool.setEventListener(feed));
        loop.attach(feed);
        return feed;
    }

    /** Events published so far (the {@code baton.kv.events.published} counter). */
    public long published() {
        return published;
    }

    /** The log the node's actor binds to its topic. */
    public KvEvents.Log log() {
        return log;
    }

    @Override
    public void onStored(BlockHash hash, int depth) {
        log.stored(hash, depth);
    }

    @Override
    public void onRemoved(BlockHash hash) {
        log.removed(hash);
    }

    @Override
    public void onCleared() {
        log.cleared();
    }

    @Override
    public int doWork() {
        KvEvents.Batch b = log.drain();
        if (b == null) {
            return 0;
        }
        publish.accept(b);
        published += b.size();
        return 1;
    }

    /**
     * The pool's cached hashes as of the last event, for a resync; call on the loop thread (for
     * example through {@link EngineLoop#execute}). Events not yet published are published first.
     */
    public KvEvents.State state() {
        doWork();
        PrefixCache cache = pool.prefixCache();
        int n = cache.readyBlockCount();
        long[] hi = new long[n];
        long[] lo = new long[n];
        int k = 0;
        for (int b = 0; b < pool.blockCount() && k < n; b++) {
            if (cache.state(b) == PrefixCache.State.READY) {
                BlockHash h = cache.hashOf(b);
                hi[k] = h.hi();
                lo[k] = h.lo();
                k++;
            }
        }
        return log.state(java.util.Arrays.copyOf(hi, k), java.util.Arrays.copyOf(lo, k));
    }
}
