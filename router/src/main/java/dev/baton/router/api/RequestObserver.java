package dev.baton.router.api;

/**
 * Sees every request the API hands to the backend, as the API's meters do (the SLO planner's input). Called
 * on the HTTP server's threads and the backend's listener threads, concurrently: implementations are
 * thread-safe and quick (no I/O, no blocking).
 */
public interface RequestObserver {

    /** Sees nothing. */
    RequestObserver NONE = new RequestObserver() {};

    /** A request reached the backend. */
    default void arrived() {}

    /** A request's first token, {@code ttftNanos} after it arrived. */
    default void firstToken(long ttftNanos) {}

    /**
     * A request finished.
     *
     * @param arrivalNanos its arrival ({@link System#nanoTime()})
     * @param ttftNanos    arrival to first token; -1 when it produced none
     * @param tpotNanos    time per output token after the first; -1 with fewer than two tokens
     */
    default void finished(long arrivalNanos, int promptTokens, int cachedTokens, int completionTokens, long ttftNanos,
            long tpotNanos) {}
}
