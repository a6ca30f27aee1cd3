package dev.baton.prefill;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;

/**
 * The prefill node's settings, {@code baton.prefill} (prefill-node's reference.conf; docs/design.md §3).
 * Immutable; {@link #validate()} checks every field once.
 *
 * @param kvLease         how long a computed prompt's KV blocks wait for the decode node (its endpoint, the
 *                        transfer's begin); a transfer begun while the prompt is computed also gives the rest
 *                        of the prompt this long
 * @param transferTimeout deadline of one KV transfer from its begin frame (streamed: from the prompt's last
 *                        chunk) to the decode node's verdict
 * @param sharedPool      whether the KV pool lives in shared memory that decode nodes on this host copy from
 * @param streamKv        whether each chunk's finished blocks are shipped while the prompt's next chunk is
 *                        computed (off: the transfer begins once the whole prompt is computed)
 */
public record PrefillSettings(Duration kvLease, Duration transferTimeout, boolean sharedPool, boolean streamKv) {

    /** The defaults of reference.conf. */
    public static PrefillSettings defaults() {
        return new PrefillSettings(Duration.ofSeconds(30), Duration.ofSeconds(30), true, true);
    }

    /** Reads {@code baton.prefill} of {@code root}; an error names the key. */
    public static PrefillSettings from(Config root) {
        try {
            Config c = root.getConfig("baton.prefill");
            return new PrefillSettings(c.getDuration("kv-lease"), c.getDuration("transfer-timeout"),
                    c.getBoolean("shared-pool"), c.getBoolean("stream-kv")).validate();
        } catch (ConfigException e) {
            throw new IllegalArgumentException("baton.prefill: " + e.getMessage(), e);
        }
    }

    /** The same settings with streaming {@code on} or off. */
    public PrefillSettings withStreamKv(boolean on) {
        return new PrefillSettings(kvLease, transferTimeout, sharedPool, on);
    }

    /** Checks every field; returns this. */
    public PrefillSettings validate() {
        positive("kv-lease", kvLease);
        positive("transfer-timeout", transferTimeout);
        return this;
    }

    private static void positive(String key, Duration d) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("baton.prefill." + key + " is " + d + "; it must be more than 0");
        }
    }
}
