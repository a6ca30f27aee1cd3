package dev.baton.router.api.openai;

/**
 * Carries an {@link ApiError} out of request parsing and preparation to the code that answers.
 * Thrown for bad client input, so it has no stack trace (cheap, and never shown anyway).
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ApiError error;

    public ApiException(ApiError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public ApiError error() {
        return error;
    }

    /** 400 naming {@code param}. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(ApiError.invalid(param, message));
    }
}
