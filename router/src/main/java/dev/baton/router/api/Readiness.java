package dev.baton.router.api;

import java.util.Objects;

/**
 * Whether a {@link GenerationBackend} can serve requests now. Immutable.
 *
 * @param ready  true when requests can be served
 * @param reason why not (empty when ready), e.g. "no decode node has joined"
 */
public record Readiness(boolean ready, String reason) {

    private static final Readiness READY = new Readiness(true, "");

    public Readiness {
        Objects.requireNonNull(reason, "reason");
    }

    public static Readiness isReady() {
        return READY;
    }

    public static Readiness notReady(String reason) {
        return new Readiness(false, reason);
    }
}
