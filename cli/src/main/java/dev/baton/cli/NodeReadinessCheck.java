package dev.baton.cli;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Baton's readiness check on Pekko Management's {@code /ready} (configured in cli's {@code reference.conf}
 * under {@code pekko.management.health-checks.readiness-checks.baton-serving}): ready while
 * {@link NodeReadiness#isReady()}. Pekko Management creates it by reflection and calls it on its own
 * dispatcher for every probe; answering reads one volatile field.
 */
public final class NodeReadinessCheck implements Supplier<CompletionStage<Boolean>> {

    /** Pekko Management instantiates health checks through a public no-argument constructor. */
    public NodeReadinessCheck() {}

    @Override
    public CompletionStage<Boolean> get() {
        return CompletableFuture.completedFuture(NodeReadiness.isReady());
    }
}
