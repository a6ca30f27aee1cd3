package dev.baton.cli;

/**
 * The lifecycle of one node process as health checks see it: starting (loading the model, joining the
 * cluster), serving (a cluster member that is Up), draining (SIGTERM or {@code bin/baton drain}: finishing
 * what it has), stopped. Written by the node's start-up and shutdown, read by the health endpoints
 * ({@code GET /ready} on the metrics port, Pekko Management's readiness check) from any thread.
 */
final class NodeHealth {

    enum State { STARTING, SERVING, DRAINING, STOPPED }

    private volatile State state = State.STARTING;

    State state() {
        return state;
    }

    /** Ready for requests: serving, not draining. */
    boolean ready() {
        return state == State.SERVING;
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

    /** Why the node is not ready, for the 503 body. */
    String reason() {
        return switch (state) {
            case STARTING -> "starting: loading the model or joining the cluster";
            case SERVING -> "serving";
            case DRAINING -> "draining: finishing its requests before it leaves the cluster";
            case STOPPED -> "stopped";
        };
    }
}
