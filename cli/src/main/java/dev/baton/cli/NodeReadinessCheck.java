package dev.baton.cli;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;

/**
 * Baton's readiness check on Pekko Management's {@code /ready} (configured in cli's {@code reference.conf}
 * under {@code pekko.management.health-checks.readiness-checks.baton-serving}), beside Pekko's
 * cluster-membership check: ready while the node's {@link NodeReadiness} says so. Pekko Management creates
 * it by reflection with the actor system and calls it on its own dispatcher for every probe.
 */
public final class NodeReadinessCheck implements Supplier<CompletionStage<Boolean>> {

    private final NodeReadiness readiness;

    /** Pekko Management instantiates health checks through a public constructor taking the actor system. */
    public NodeReadinessCheck(ActorSystem system) {
        this.readiness = NodeReadiness.get(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
        return CompletableFuture.completedFuture(readiness.isReady());
    }
}
