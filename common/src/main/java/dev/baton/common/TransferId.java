package dev.baton.common;

/**
 * The id of one KV-block transfer from a prefill node to a decode node, assigned by the router and
 * carried explicitly in every transfer frame and handoff message (docs/design.md §3). Immutable.
 */
public record TransferId(long value) {

    @Override
    public String toString() {
        return "xfer-" + Long.toUnsignedString(value, 16);
    }
}
