package dev.baton.router.cluster;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How the router picks nodes, from {@code baton.router.routing} (see the router's {@code reference.conf}).
 *
 * @param cacheWeight      weight of the prompt tokens a node already holds (its benefit)
 * @param queueWeight      weight of the prompt tokens a prefill or worker node still has to compute for
 *                         requests in flight (its cost)
 * @param decodeLoadWeight cost of one request running, waiting or in flight on a decode node, in
 *                         (cache-weighted) prompt tokens it holds
 * @param maxImbalance     most requests in flight a chosen node may have above the least busy one of its
 *                         role (the herding guard)
 * @param decodePrefillThreshold longest uncached prompt remainder (tokens) that a decode node holding the
 *                         rest computes itself, the request going to it whole; 0 never
 * @param loadPollInterval how often every node's load is polled
 * @param maxMigrations    most times one request's stream moves to another node after the node serving it was
 *                         lost (docs/design.md §12); 0 never: the request fails, retryable
 * @param migrationWait    how long a request whose node was lost waits for a node that can take it over, when
 *                         none can at that moment (the only node of a role lost, its replacement joining)
 * @param lostAfterSilence a node the cluster marks unreachable is lost for this router (its streams move) only
 *                         once it has also not answered this router's load polls for this long: a node that wakes
 *                         from a pause marks the others unreachable for a moment, and streams on nodes the router
 *                         still hears from stay where they are; at least twice the poll interval
 * @param sessions         sticky sessions: where a session's next request goes
 */
public record RoutingSettings(double cacheWeight, double queueWeight, double decodeLoadWeight, int maxImbalance,
        int decodePrefillThreshold, Duration loadPollInterval, int maxMigrations, Duration migrationWait,
        Duration lostAfterSilence, Sessions sessions) {

    /**
     * Sticky sessions ({@code baton.router.routing.sessions}): a request with a session id (the API's {@code user}
     * or the {@code X-Session-Id} header) goes to the node(s) that served the session's last request while they
     * can take it (usable, room for it, within the herding guard), so a conversation finds its own KV there.
     *
     * @param enabled     off: session ids are ignored
     * @param maxSessions most sessions remembered (the least recently used is forgotten first)
     * @param idleTimeout a session not seen for this long is forgotten
     */
    public record Sessions(boolean enabled, int maxSessions, Duration idleTimeout) {
        public Sessions {
            if (maxSessions < 1 || idleTimeout.isNegative() || idleTimeout.isZero()) {
                throw new IllegalArgumentException("baton.router.routing.sessions: max-sessions must be >= 1 and "
                        + "idle-timeout positive, got " + maxSessions + " and " + idleTimeout);
            }
        }

        public static final Sessions DEFAULTS = new Sessions(true, 100_000, Duration.ofMinutes(10));
    }

    public RoutingSettings {
        if (maxMigrations < 0) {
            throw new IllegalArgumentException("baton.router.routing.max-migrations must be >= 0, got " + maxMigrations);
        }
        if (cacheWeight < 0 || queueWeight < 0 || decodeLoadWeight < 0 || maxImbalance < 0 || decodePrefillThreshold < 0
                || loadPollInterval.isNegative() || loadPollInterval.isZero()) {
            throw new IllegalArgumentException("baton.router.routing: weights, max-imbalance and decode-prefill-threshold "
                    + "must be >= 0 and the poll interval positive, got cache-weight " + cacheWeight + ", queue-weight "
                    + queueWeight + ", decode-load-weight " + decodeLoadWeight + ", max-imbalance " + maxImbalance
                    + ", decode-prefill-threshold " + decodePrefillThreshold + ", load-poll-interval " + loadPollInterval);
        }
    }

    /** The defaults of {@code reference.conf}, polling every {@code loadPollInterval}. */
    public static RoutingSettings defaults(Duration loadPollInterval) {
        return new RoutingSettings(1.0, 1.0, 256.0, 4, 64, loadPollInterval, 2, Duration.ofSeconds(10),
                max(Duration.ofMillis(1500), loadPollInterval.multipliedBy(3)), Sessions.DEFAULTS);
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    public static RoutingSettings defaults() {
        return defaults(Duration.ofMillis(500));
    }

    public static RoutingSettings from(Config config) {
        Config c = config.getConfig("baton.router.routing");
        return new RoutingSettings(c.getDouble("cache-weight"), c.getDouble("queue-weight"),
                c.getDouble("decode-load-weight"), c.getInt("max-imbalance"), c.getInt("decode-prefill-threshold"),
                c.getDuration("load-poll-interval"), c.getInt("max-migrations"), c.getDuration("migration-wait"),
                c.getDuration("lost-after-silence"), new Sessions(c.getBoolean("sessions.enabled"),
                c.getInt("sessions.max-sessions"), c.getDuration("sessions.idle-timeout")));
    }
}
