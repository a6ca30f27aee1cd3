package dev.baton.engine.sched;

import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.PrefixCache;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * The engine loop's meters (docs/design.md §8). Counters and gauges read the loop's, the pool's and the
 * prefix cache's own fields when scraped, so the loop pays nothing for them; the two timers are recorded once per admission and
 * once per step, on the loop thread. The {@code baton.host.tier.*} counters stay 0 on a loop without a
 * host tier ({@link EngineLoop#useTier}); the host tier's own figures (entries, bytes, evictions, shared by
 * every process on the host) are {@code baton.kv.host.tier.*}, registered by the node process.
 *
 * <pre>
 *   baton.kv.blocks{state=used|cached|free}     KV blocks of the pool: referenced by a request / holding
 *                                                a cached prefix block, unreferenced (evicted when needed) /
 *                                                empty; the three add up to the pool size
 *   baton.prefix.cache.hit.blocks                prompt blocks found in the pool's prefix cache (the device
 *                                                tier), written or still being computed (counter; lookups
 *                                                at admission and refills)
 *   baton.prefix.cache.miss.blocks               prompt blocks looked up in the pool and not found (counter;
 *                                                some of them may then come from the host tier)
 *   baton.prefix.cache.hit.tokens                prompt positions reused instead of computed, from either
 *                                                tier (counter; the host tier's part is below)
 *   baton.prefix.cache.evictions                 cached blocks evicted to make room (counter)
 *   baton.host.tier.hit.blocks                   prompt blocks read back from the host tier (counter)
 *   baton.host.tier.hit.tokens                   prompt positions reused from those blocks (counter)
 *   baton.host.tier.miss.blocks                  read-backs that stopped at a block the host tier did not
 *                                                give: missing, failed its checksum, or a tier error (counter)
 *   baton.host.tier.spilled.blocks               evicted blocks the host tier holds afterwards (counter)
 *   baton.host.tier.spill.failures               evicted blocks the host tier could not store (counter)
 *   baton.requests.running / .waiting            sequences admitted / queued
 *   baton.requests.importing                     imported sequences awaiting their prompt KV
 *   baton.kv.imported.blocks{source=transfer|held}
 *                                                prompt blocks of activated imports: received by kv-transfer /
 *                                                held by this node already, so not sent (counter)
 *   baton.tokens{phase=prefill|decode}           tokens computed (counter)
 *   baton.steps                                  forward passes (counter)
 *   baton.speculation.draft.tokens{outcome=proposed|accepted}
 *                                                draft tokens verified in steps / confirmed by the target
 *                                                (counter; accepted / proposed is the acceptance rate)
 *   baton.speculation.acceptance                 accepted / proposed draft tokens since start (0 before any)
 *   baton.queue.time                             submit to admission (timer)
 *   baton.step.time                              one forward pass (timer)
 *   baton.queue.compute.ratio                    queue time / compute time, the autoscaling signal
 *   baton.engine.loop.stalled                    seconds the loop has not completed a duty cycle while it
 *                                                has work (0 when idle or moving; a step's length while it runs)
 *   baton.engine.loop.stuck                      1 while the loop is stuck (stalled past baton.engine.stuck-after)
 * </pre>
 */
final class LoopMetrics {

    final Timer queueTime;
    final Timer stepTime;
    private volatile double queueSeconds;
    private volatile double computeSeconds;

    LoopMetrics(MeterRegistry registry, Tags tags, EngineLoop loop, KvBlockPool pool, TierLink tier) {
        Gauge.builder("baton.kv.blocks", pool, KvBlockPool::usedBlockCount).tags(tags).tag("state", "used")
                .baseUnit("blocks").register(registry);
        Gauge.builder("baton.kv.blocks", pool, KvBlockPool::evictableBlockCount).tags(tags).tag("state", "cached")
                .baseUnit("blocks").register(registry);
        Gauge.builder("baton.kv.blocks", pool, KvBlockPool::emptyBlockCount).tags(tags).tag("state", "free")
                .baseUnit("blocks").register(registry);
        PrefixCache cache = pool.prefixCache();
        FunctionCounter.builder("baton.prefix.cache.hit.blocks", cache, PrefixCache::hitBlocks).tags(tags)
                .baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.prefix.cache.miss.blocks", cache, PrefixCache::missBlocks).tags(tags)
                .baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.prefix.cache.hit.tokens", loop, EngineLoop::cachedTokens).tags(tags)
                .baseUnit("tokens").register(registry);
        FunctionCounter.builder("baton.prefix.cache.evictions", cache, PrefixCache::evictions).tags(tags)
                .baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.host.tier.hit.blocks", tier, TierLink::hitBlocks).tags(tags)
                .baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.host.tier.hit.tokens", tier, TierLink::hitTokens).tags(tags)
                .baseUnit("tokens").register(registry);
        FunctionCounter.builder("baton.host.tier.miss.blocks", tier, TierLink::missBlocks).tags(tags)
                .baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.host.tier.spilled.blocks", tier, TierLink::spilledBlocks).tags(tags)
                .baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.host.tier.spill.failures", tier, TierLink::spillFailures).tags(tags)
                .baseUnit("blocks").register(registry);
        Gauge.builder("baton.requests.running", loop, EngineLoop::runningCount).tags(tags).register(registry);
        Gauge.builder("baton.requests.waiting", loop, EngineLoop::waitingCount).tags(tags).register(registry);
        Gauge.builder("baton.requests.importing", loop, EngineLoop::importingCount).tags(tags).register(registry);
        FunctionCounter.builder("baton.kv.imported.blocks", loop, EngineLoop::importedBlocks).tags(tags)
                .tag("source", "transfer").baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.kv.imported.blocks", loop, EngineLoop::importHeldBlocks).tags(tags)
                .tag("source", "held").baseUnit("blocks").register(registry);
        FunctionCounter.builder("baton.tokens", loop, EngineLoop::prefilledTokens).tags(tags).tag("phase", "prefill")
                .baseUnit("tokens").register(registry);
        FunctionCounter.builder("baton.tokens", loop, EngineLoop::generatedTokens).tags(tags).tag("phase", "decode")
                .baseUnit("tokens").register(registry);
        FunctionCounter.builder("baton.steps", loop, EngineLoop::stepCount).tags(tags).register(registry);
        FunctionCounter.builder("baton.speculation.draft.tokens", loop, EngineLoop::draftedTokens).tags(tags)
                .tag("outcome", "proposed").baseUnit("tokens").register(registry);
        FunctionCounter.builder("baton.speculation.draft.tokens", loop, EngineLoop::acceptedDraftTokens).tags(tags)
                .tag("outcome", "accepted").baseUnit("tokens").register(registry);
        Gauge.builder("baton.speculation.acceptance", loop,
                l -> l.draftedTokens() == 0 ? 0 : (double) l.acceptedDraftTokens() / l.draftedTokens())
                .tags(tags).register(registry);
        queueTime = Timer.builder("baton.queue.time").tags(tags).publishPercentiles(0.5, 0.9, 0.99).register(registry);
        stepTime = Timer.builder("baton.step.time").tags(tags).publishPercentiles(0.5, 0.9, 0.99).register(registry);
        Gauge.builder("baton.queue.compute.ratio", this, m -> m.computeSeconds == 0 ? 0 : m.queueSeconds / m.computeSeconds)
                .tags(tags).register(registry);
        Gauge.builder("baton.engine.loop.stalled", loop, l -> l.stalledNanos() / 1e9).tags(tags).baseUnit("seconds")
                .register(registry);
        Gauge.builder("baton.engine.loop.stuck", loop, l -> l.isStuck() ? 1 : 0).tags(tags).register(registry);
    }

    void queued(long nanos) {
        queueTime.record(nanos, TimeUnit.NANOSECONDS);
        queueSeconds += nanos / 1e9;
    }

    void stepped(long nanos) {
        stepTime.record(nanos, TimeUnit.NANOSECONDS);
        computeSeconds += nanos / 1e9;
    }
}
