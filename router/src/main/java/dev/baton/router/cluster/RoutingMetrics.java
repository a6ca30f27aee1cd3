package dev.baton.router.cluster;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The router's routing meters (docs/design.md §8):
 *
 * <pre>
 *   baton.routing.decisions{role=prefill|decode|worker, reason=prefix|load|guard|local|session}
 *                                 placements of a request's part on a node of that role: on a node holding
 *                                 part of the prompt, by load alone (no node held any), by load because the
 *                                 herding guard passed over a node that did, or (decode) the whole request
 *                                 on the decode node holding all of the prompt but a short remainder
 *   baton.kv.events.applied       KV events applied to the router's index
 *   baton.kv.index.resyncs        resyncs of a node's index (a gap, or a node seen mid-way)
 *   baton.router.migrations{reason=node-lost|prefill-lost|node-failed}
 *                                 streams moved to another node (docs/design.md §12): the node generating them was
 *                                 lost, the prefill node was lost before the decode node had the prompt's KV,
 *                                 or a node reported a retryable failure after the request started there
 * </pre>
 */
final class RoutingMetrics {

    private static final String[] ROLES = {"prefill", "decode", "worker"};
    private static final String[] REASONS = {"prefix", "load", "guard", "local", "session"};

    static final String[] MIGRATION_REASONS = {"node-lost", "prefill-lost", "node-failed"};

    private final Counter[] decisions;
    private final Counter[] migrations = new Counter[MIGRATION_REASONS.length];
    private final MeterRegistry registry;

    RoutingMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.decisions = new Counter[ROLES.length * REASONS.length];
        if (registry != null) {
            for (int i = 0; i < ROLES.length; i++) {
                for (int j = 0; j < REASONS.length; j++) {
                    if (REASONS[j].equals("local") && !ROLES[i].equals("decode")) {
                        continue;
                    }
                    decisions[i * REASONS.length + j] = Counter.builder("baton.routing.decisions").tag("role", ROLES[i])
                            .tag("reason", REASONS[j]).register(registry);
                }
            }
            for (int i = 0; i < MIGRATION_REASONS.length; i++) {
                migrations[i] = Counter.builder("baton.router.migrations").tag("reason", MIGRATION_REASONS[i])
                        .register(registry);
            }
        }
    }

    void migrated(String reason) {
        int i = java.util.Arrays.asList(MIGRATION_REASONS).indexOf(reason);
        if (registry != null && i >= 0) {
            migrations[i].increment();
        }
    }

    void bind(KvIndex index) {
        if (registry != null) {
            FunctionCounter.builder("baton.kv.events.applied", index, KvIndex::eventsApplied).register(registry);
            FunctionCounter.builder("baton.kv.index.resyncs", index, KvIndex::resyncs).register(registry);
        }
    }

    void decided(String role, String reason) {
        int i = java.util.Arrays.asList(ROLES).indexOf(role);
        int j = java.util.Arrays.asList(REASONS).indexOf(reason);
        Counter c = registry == null || i < 0 || j < 0 ? null : decisions[i * REASONS.length + j];
        if (c != null) {
            c.increment();
        }
    }
}
