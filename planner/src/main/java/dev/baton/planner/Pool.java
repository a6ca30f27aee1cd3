package dev.baton.planner;

import java.util.Locale;

/** A pool of nodes of one role, sized by the planner. */
public enum Pool {
    /** Prefill nodes, sized for time to first token. */
    PREFILL,
    /** Decode nodes, sized for time per output token. */
    DECODE,
    /** Colocated workers (prefill and decode in one process), sized for both. */
    WORKER;

    /** The role name nodes report and {@code bin/baton} takes: {@code prefill}, {@code decode}, {@code worker}. */
    public String role() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The pool of role {@code role}, or null for a role that is not a pool (the router). */
    public static Pool ofRole(String role) {
        for (Pool p : values()) {
            if (p.role().equals(role)) {
                return p;
            }
        }
        return null;
    }
}
