package dev.baton.planner;

/** A {@code baton.planner} setting that is missing, of the wrong type or out of range; the message names the key. */
public final class PlannerConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PlannerConfigException(String message) {
        super(message);
    }

    public PlannerConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
