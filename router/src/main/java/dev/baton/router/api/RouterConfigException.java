package dev.baton.router.api;

/** A router setting that is missing, of the wrong type or out of range; the message names the key. */
public final class RouterConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RouterConfigException(String message) {
        super(message);
    }

    public RouterConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
