package dev.baton.common;

/**
 * The id of one client request, assigned by the router and carried unchanged through prefill,
 * handoff and decode. Immutable.
 */
public record RequestId(long value) {

    @Override
    public String toString() {
        return "req-" + Long.toUnsignedString(value, 16);
    }
}
