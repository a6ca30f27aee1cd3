package dev.baton.cli;

import java.util.function.BooleanSupplier;

/**
 * Whether this node process serves requests, as its readiness probe reports it ({@link NodeReadinessCheck}
 * on Pekko Management's {@code /ready}). One per JVM: a node process is one node.
 *
 * <pre>
 *   STARTING --markServing / markServingWhen--> SERVING --markDraining--> DRAINING (final)
 * </pre>
 *
 * A node command marks itself serving once its actor runs in the cluster, and draining when it is asked
 * to stop (SIGTERM, {@code bin/baton drain}), so that an orchestrator stops sending it traffic before it
 * leaves. The router serves only while its cluster can serve: it marks itself serving with the condition
 * {@code dispatcher::ready}.
 *
 * <p>Thread-safe: the state is one volatile reference, read by the health check's thread.
 */
final class NodeReadiness {

    private enum Phase { STARTING, SERVING, DRAINING }

    private record State(Phase phase, BooleanSupplier condition) {}

    private static final BooleanSupplier ALWAYS = () -> true;

    private static volatile State state = new State(Phase.STARTING, ALWAYS);

    private NodeReadiness() {}

    /** The node serves from now on (unless it drains already: draining is final). */
    static void markServing() {
        markServingWhen(ALWAYS);
    }

    /**
     * The node serves from now on whenever {@code condition} holds (asked on every readiness probe; it must
     * be cheap and thread-safe), unless it drains already.
     */
    static synchronized void markServingWhen(BooleanSupplier condition) {
        if (state.phase() != Phase.DRAINING) {
            state = new State(Phase.SERVING, java.util.Objects.requireNonNull(condition, "condition"));
        }
    }

    /** The node stops taking new work: it reports not ready from now on, for good. */
    static synchronized void markDraining() {
        state = new State(Phase.DRAINING, ALWAYS);
    }

    /** True while the node serves: marked serving, not draining, and its condition holds. */
    static boolean isReady() {
        State s = state;
        return s.phase() == Phase.SERVING && s.condition().getAsBoolean();
    }

    /** True once the node drains. */
    static boolean isDraining() {
        return state.phase() == Phase.DRAINING;
    }

    /** Back to starting (tests run several nodes' lifecycles in one JVM). */
    static synchronized void reset() {
        state = new State(Phase.STARTING, ALWAYS);
    }
}
