package dev.baton.router.admission;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;

/**
 * Settings of the router's admission control, read once from {@code baton.router.admission} (every key
 * is described in the router's {@code reference.conf}) and validated. Immutable. A limit of 0 is off.
 *
 * @param maxTtft                predicted time to first token past which a new request is refused (503); zero: off
 * @param maxRequestsInFlight    requests this router has admitted and not seen end
 * @param maxQueuedPromptTokens  prompt tokens this router has admitted and not seen computed (first token)
 * @param kvFraction             share of the serving pool's KV positions (decode nodes, or workers) that this
 *                               router's admitted requests may claim (prompt plus {@code max_tokens}); 0: unchecked
 * @param keyRequestsPerSecond   per API key: requests per second (token bucket); 0: unlimited
 * @param keyBurstRequests       per API key: requests that may come at once above the rate (the bucket's size)
 * @param keyTokensPerMinute     per API key: prompt plus {@code max_tokens} per minute (token bucket of a
 *                               minute's tokens); 0: unlimited
 * @param keyMaxConcurrent       per API key: requests in flight at once; 0: unlimited
 * @param maxRetryAfter          the longest {@code Retry-After} sent (a computed wait is cut to it)
 * @param maxConnections         HTTP connections open at once (Pekko's {@code max-connections}); more wait in
 *                               the listen backlog
 * @param backlog                the listen backlog of the HTTP socket
 */
public record AdmissionSettings(
        Duration maxTtft,
        int maxRequestsInFlight,
        long maxQueuedPromptTokens,
        double kvFraction,
        double keyRequestsPerSecond,
        int keyBurstRequests,
        long keyTokensPerMinute,
        int keyMaxConcurrent,
        Duration maxRetryAfter,
        int maxConnections,
        int backlog) {

    /** The defaults of the router's {@code reference.conf}. */
    public static AdmissionSettings defaults() {
        return from(ConfigFactory.defaultReference());
    }

    /**
     * Reads {@code baton.router.admission} from a resolved root config.
     *
     * @throws ConfigException naming the key that is missing, of the wrong type or out of range
     */
    public static AdmissionSettings from(Config root) {
        Config c = root.getConfig("baton.router.admission");
        Config k = c.getConfig("per-key");
        return new AdmissionSettings(
                c.getDuration("max-ttft"),
                c.getInt("max-requests-in-flight"),
                c.getLong("max-queued-prompt-tokens"),
                c.getDouble("kv-fraction"),
                k.getDouble("requests-per-second"),
                k.getInt("burst-requests"),
                k.getLong("tokens-per-minute"),
                k.getInt("max-concurrent"),
                c.getDuration("max-retry-after"),
                c.getInt("max-connections"),
                c.getInt("backlog")).validate();
    }

    /** A copy with another {@link #maxTtft()}. */
    public AdmissionSettings withMaxTtft(Duration d) {
        return new AdmissionSettings(d, maxRequestsInFlight, maxQueuedPromptTokens, kvFraction, keyRequestsPerSecond,
                keyBurstRequests, keyTokensPerMinute, keyMaxConcurrent, maxRetryAfter, maxConnections, backlog).validate();
    }

    /** A copy with other per-key limits. */
    public AdmissionSettings withKeyLimits(double requestsPerSecond, int burst, long tokensPerMinute, int concurrent) {
        return new AdmissionSettings(maxTtft, maxRequestsInFlight, maxQueuedPromptTokens, kvFraction, requestsPerSecond,
                burst, tokensPerMinute, concurrent, maxRetryAfter, maxConnections, backlog).validate();
    }

    /** A copy with other router-wide bounds. */
    public AdmissionSettings withBounds(int requests, long queuedPromptTokens, double kv) {
        return new AdmissionSettings(maxTtft, requests, queuedPromptTokens, kv, keyRequestsPerSecond, keyBurstRequests,
                keyTokensPerMinute, keyMaxConcurrent, maxRetryAfter, maxConnections, backlog).validate();
    }

    /**
     * Checks every field.
     *
     * @return this
     * @throws ConfigException.BadValue naming the first key out of range, its value and the range
     */
    public AdmissionSettings validate() {
        check(maxTtft != null && !maxTtft.isNegative(), "max-ttft", maxTtft, ">= 0s (0s: off)");
        check(maxRequestsInFlight >= 1, "max-requests-in-flight", maxRequestsInFlight, ">= 1");
        check(maxQueuedPromptTokens >= 1, "max-queued-prompt-tokens", maxQueuedPromptTokens, ">= 1");
        check(kvFraction >= 0 && kvFraction <= 16, "kv-fraction", kvFraction, "0..16 (0: unchecked)");
        check(keyRequestsPerSecond >= 0 && keyRequestsPerSecond <= 1e6, "per-key.requests-per-second",
                keyRequestsPerSecond, "0..1000000 (0: unlimited)");
        check(keyBurstRequests >= 0 && keyBurstRequests <= 1_000_000, "per-key.burst-requests", keyBurstRequests,
                "0..1000000 (0: the rate, at least 1)");
        check(keyTokensPerMinute >= 0, "per-key.tokens-per-minute", keyTokensPerMinute, ">= 0 (0: unlimited)");
        check(keyMaxConcurrent >= 0, "per-key.max-concurrent", keyMaxConcurrent, ">= 0 (0: unlimited)");
        check(maxRetryAfter != null && maxRetryAfter.toSeconds() >= 1 && maxRetryAfter.toSeconds() <= 3600,
                "max-retry-after", maxRetryAfter, "1s..1h");
        check(maxConnections >= 1, "max-connections", maxConnections, ">= 1");
        check(backlog >= 1, "backlog", backlog, ">= 1");
        return this;
    }

    private static void check(boolean ok, String key, Object value, String range) {
        if (!ok) {
            throw new ConfigException.BadValue("baton.router.admission." + key, value + " is out of range (" + range
                    + ")");
        }
    }
}
