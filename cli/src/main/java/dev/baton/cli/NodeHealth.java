package dev.baton.cli;

import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The lifecycle of one node process as health checks see it: starting (loading the model, joining the
 * cluster), serving (a cluster member that is Up), draining (SIGTERM or {@code bin/baton drain}: finishing
 * what it has), stopped; and, while serving, whether its engine loop is stuck (it has work and made no
 * progress for {@code baton.engine.stuck-after}): a stuck node is not ready until the loop moves again.
 * Written by the node's start-up and shutdown, read by the health endpoints ({@code GET /ready} on the
 * metrics port, Pekko Management's readiness check) from any thread.
 */
final class NodeHealth {

    enum State { STARTING, SERVING, DRAINING, STOPPED }

    /** What {@code /ready} answers: ready or not, a one-word status and why. */
    record Verdict(boolean ready, String status, String reason) {}

    private volatile State state = State.STARTING;
    private volatile LongSupplier stuckMillis = () -> 0;

    State state() {
        return state;
    }

    /** Ready for requests: serving, not draining, and its engine loop not stuck. */
    boolean ready() {
        return state == State.SERVING && stuckMillis.getAsLong() == 0;
    }

    /**
     * From now on the node counts as not ready while {@code stuckMillis} (the engine loop's
     * {@link dev.baton.engine.sched.EngineLoop#stuckMillis}: cheap, thread-safe) is above 0.
     */
    void watch(LongSupplier stuckMillis) {
        this.stuckMillis = Objects.requireNonNull(stuckMillis, "stuckMillis");
    }

    /** The node is a cluster member that is Up (ignored once it drains or stops). */
    synchronized void serving() {
        if (state == State.STARTING) {
            state = State.SERVING;
        }
    }

    /** The node drains (ignored once stopped). */
    synchronized void draining() {
        if (state != State.STOPPED) {
            state = State.DRAINING;
        }
    }

    synchronized void stopped() {
        state = State.STOPPED;
    }

    /** Ready or not, and why, read once (for the {@code /ready} body). */
    Verdict verdict() {
        State s = state;
        long stuck = s == State.SERVING ? stuckMillis.getAsLong() : 0;
        if (stuck > 0) {
            return new Verdict(false, "stuck", "stuck: the engine loop has made no progress for " + stuck
                    + " ms with requests queued or running (baton.engine.stuck-after)");
        }
        return new Verdict(s == State.SERVING, s.name().toLowerCase(Locale.ROOT), reason(s));
    }

    /** Why the node is not ready, for the 503 body. */
    String reason() {
        return verdict().reason();
    }

    private static String reason(State s) {
        return switch (s) {
            case STARTING -> "starting: loading the model or joining the cluster";
            case SERVING -> "serving";
            case DRAINING -> "draining: finishing its requests before it leaves the cluster";
            case STOPPED -> "stopped";
        };
    }
}
