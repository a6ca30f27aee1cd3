package dev.baton.kvtransfer.hosttier;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * Registers a host tier's figures with Micrometer (docs/design.md §8): gauges read {@link HostTier#stats()}
 * when scraped (a scan of the slot table), counters read the handle's counters. Nothing is added to
 * the put/get path.
 *
 * <ul>
 *   <li>{@code baton.kv.host.tier.entries}, {@code baton.kv.host.tier.used} (bytes),
 *       {@code baton.kv.host.tier.capacity} (bytes): tier-wide</li>
 *   <li>{@code baton.kv.host.tier.evictions}, {@code baton.kv.host.tier.reclaimed.writes}: tier-wide counters</li>
 *   <li>{@code baton.kv.host.tier.stores}, {@code baton.kv.host.tier.lookups} tagged
 *       {@code result=hit|miss|corrupt}: this handle</li>
 * </ul>
 */
public final class HostTierMetrics {

    private HostTierMetrics() {
    }

    /** Registers the meters; {@code tags} should be low-cardinality (role, node). */
    public static void bind(HostTier tier, MeterRegistry registry, Tags tags) {
        Gauge.builder("baton.kv.host.tier.entries", tier, t -> t.stats().entries())
                .description("Blocks readable in the host tier (all processes, all compatibilities)")
                .tags(tags).register(registry);
        Gauge.builder("baton.kv.host.tier.used", tier, t -> t.stats().bytes())
                .description("Bytes of blocks readable in the host tier").baseUnit("bytes")
                .tags(tags).register(registry);
        Gauge.builder("baton.kv.host.tier.capacity", tier, t -> t.stats().capacityBytes())
                .description("The host tier's bound on block bytes").baseUnit("bytes")
                .tags(tags).register(registry);
        FunctionCounter.builder("baton.kv.host.tier.evictions", tier, t -> t.stats().evictions())
                .description("Blocks evicted from the host tier to make room (all processes)")
                .tags(tags).register(registry);
        FunctionCounter.builder("baton.kv.host.tier.reclaimed.writes", tier, t -> t.stats().reclaimedWrites())
                .description("Slots taken back from writers that died or overran the stale-write timeout")
                .tags(tags).register(registry);
        FunctionCounter.builder("baton.kv.host.tier.stores", tier, t -> t.stats().stored())
                .description("Blocks this process stored in the host tier")
                .tags(tags).register(registry);
        FunctionCounter.builder("baton.kv.host.tier.lookups", tier, t -> t.stats().hits())
                .description("Host tier reads by this process").tags(tags).tag("result", "hit").register(registry);
        FunctionCounter.builder("baton.kv.host.tier.lookups", tier, t -> t.stats().misses())
                .description("Host tier reads by this process").tags(tags).tag("result", "miss").register(registry);
        FunctionCounter.builder("baton.kv.host.tier.lookups", tier, t -> t.stats().corrupt())
                .description("Host tier reads by this process").tags(tags).tag("result", "corrupt").register(registry);
    }
}
