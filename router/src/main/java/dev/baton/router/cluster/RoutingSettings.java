package dev.baton.router.cluster;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How the router picks nodes, from {@code baton.router.routing} (see the router's {@code reference.conf}).
 *
 * @param cacheWeight   weight of the prompt tokens a node already holds (its benefit)
 * @param queueWeight   weight of the prompt tokens a node still has to compute for requests in flight (its cost)
 * @param maxImbalance  most requests in flight a chosen node may have above the least busy one (the herding guard)
 * @param loadPollInterval how often every node's load is polled
 */
public record RoutingSettings(double cacheWeight, double queueWeight, int maxImbalance, Duration loadPollInterval) {

    public RoutingSettings {
        if (cacheWeight < 0 || queueWeight < 0 || maxImbalance < 0 || loadPollInterval.isNegative()
                || loadPollInterval.isZero()) {
            throw new IllegalArgumentException("baton.router.routing: weights and max-imbalance must be >= 0 and the "
                    + "poll interval positive, got " + cacheWeight + ", " + queueWeight + ", " + maxImbalance + ", "
                    + loadPollInterval);
        }
    }

    public static RoutingSettings defaults() {
        return new RoutingSettings(1.0, 1.0, 4, Duration.ofMillis(500));
    }

    public static RoutingSettings from(Config config) {
        Config c = config.getConfig("baton.router.routing");
        return new RoutingSettings(c.getDouble("cache-weight"), c.getDouble("queue-weight"), c.getInt("max-imbalance"),
                c.getDuration("load-poll-interval"));
    }
}
