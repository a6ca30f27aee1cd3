package dev.baton.cli;

import java.util.Objects;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * Whether a node serves, as Pekko Management's {@code /ready} reports it ({@link NodeReadinessCheck}): one
 * per actor system (a Pekko extension), so that several nodes in one JVM (tests) each report their own.
 * Not ready until the node says where its readiness comes from ({@link #readyWhen}); an engine node gives
 * its {@link NodeHealth} (ready while an Up member that does not drain), the router its dispatcher (ready
 * while the cluster can serve). {@link Management#start} sets it.
 *
 * <p>Thread-safe: the source is one volatile reference, read by the health check on Pekko's dispatcher.
 */
final class NodeReadiness implements Extension {

    private static final Id ID = new Id();

    private volatile BooleanSupplier source = () -> false;

    private NodeReadiness() {}

    static NodeReadiness get(ActorSystem system) {
        return ID.get(system);
    }

    /** From now on the node is ready whenever {@code ready} holds (asked on every probe: cheap, thread-safe). */
    void readyWhen(BooleanSupplier ready) {
        source = Objects.requireNonNull(ready, "ready");
    }

    boolean isReady() {
        return source.getAsBoolean();
    }

    private static final class Id extends AbstractExtensionId<NodeReadiness> {
        @Override
        public NodeReadiness createExtension(ExtendedActorSystem system) {
            return new NodeReadiness();
        }
    }
}
