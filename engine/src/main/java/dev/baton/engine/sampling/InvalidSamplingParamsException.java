package dev.baton.engine.sampling;

/**
 * A sampling parameter outside its allowed range. The message names the parameter (by its OpenAI
 * request name, also in {@link #param()}), the value given and the allowed range, so the router can
 * return it to the client as a 400 with {@code param} set.
 */
public final class InvalidSamplingParamsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String param;

    public InvalidSamplingParamsException(String param, String message) {
        super(message);
        this.param = param;
    }

    /** The request field at fault, e.g. {@code "top_p"}. */
    public String param() {
        return param;
    }
}
