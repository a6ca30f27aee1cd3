package dev.baton.common;

import java.util.Objects;

/**
 * The id of one Baton node (one JVM) in the cluster. Immutable.
 *
 * @param value a non-blank name; never parsed for meaning
 * @throws IllegalArgumentException if {@code value} is blank
 */
public record NodeId(String value) {

    public NodeId {
        Objects.requireNonNull(value, "value");
        if (value.isBlank()) {
            throw new IllegalArgumentException("node id must not be blank (got \"" + value + "\")");
        }
    }

    @Override
    public String toString() {
        return value;
    }
}
