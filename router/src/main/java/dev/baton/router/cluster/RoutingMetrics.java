package dev.baton.router.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The router's routing meters (DESIGN.md §8):
 *
 * <pre>
 *   baton.routing.decisions{reason=prefix|load|guard}  prompt placements: on a node holding part of the
 *                                                      prompt, by load alone (no node held any), or by load
 *                                                      because the herding guard passed over a node that did
 *   baton.kv.events.applied                            KV events applied to the router's index
 *   baton.kv.index.resyncs                             resyncs of a node's index (a gap, or a node seen mid-way)
 * </pre>
 */
final class RoutingMetrics {

    private final Counter prefix;
    private final Counter load;
    private final Counter guard;
    private final MeterRegistry registry;

    RoutingMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.prefix = registry == null ? null : decisions(registry, "prefix");
        this.load = registry == null ? null : decisions(registry, "load");
        this.guard = registry == null ? null : decisions(registry, "guard");
    }

    private static Counter decisions(MeterRegistry registry, String reason) {
        return Counter.builder("baton.routing.decisions").tag("reason", reason).register(registry);
    }

    void bind(KvIndex index) {
        if (registry != null) {
            FunctionCounter.builder("baton.kv.events.applied", index, KvIndex::eventsApplied).register(registry);
            FunctionCounter.builder("baton.kv.index.resyncs", index, KvIndex::resyncs).register(registry);
        }
    }

    void decided(String reason) {
        if (registry != null) {
            switch (reason) {
                case "prefix" -> prefix.increment();
                case "guard" -> guard.increment();
                default -> load.increment();
            }
        }
    }
}
