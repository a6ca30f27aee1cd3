package dev.baton.router.api.openai;

import java.util.Objects;

/**
 * One error answer in OpenAI's shape, {@code {"error":{"message","type","param","code"}}}, with the
 * HTTP status it goes out with. Immutable. Messages are for clients: they name the field and the
 * limit, never a stack trace or a node's internals.
 *
 * @param status            HTTP status (400, 401, 403, 404, 405, 408, 413, 429, 500, 503, 504)
 * @param type              OpenAI's {@code type}, e.g. {@code invalid_request_error}
 * @param message           what is wrong, for a person
 * @param param             the request field at fault, or null
 * @param code              a machine-readable code ({@code context_length_exceeded}, ...), or null
 * @param retryAfterSeconds the {@code Retry-After} to send (429, 503), or 0 for none
 */
public record ApiError(int status, String type, String message, String param, String code, long retryAfterSeconds) {

    public static final String INVALID_REQUEST = "invalid_request_error";
    public static final String AUTHENTICATION = "authentication_error";
    public static final String PERMISSION = "permission_error";
    public static final String RATE_LIMIT = "rate_limit_error";
    public static final String UNAVAILABLE = "service_unavailable_error";
    public static final String SERVER = "server_error";

    public ApiError {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(message, "message");
    }

    /** 400 for a field that is missing, of the wrong type or out of range. */
    public static ApiError invalid(String param, String message) {
        return new ApiError(400, INVALID_REQUEST, message, param, null, 0);
    }

    /** 400 for a body that is not JSON. */
    public static ApiError invalidJson(String detail) {
        return new ApiError(400, INVALID_REQUEST, "the request body is not valid JSON: " + detail, null, "invalid_json", 0);
    }

    /** 400 with code {@code context_length_exceeded}. */
    public static ApiError contextLengthExceeded(String param, String message) {
        return new ApiError(400, INVALID_REQUEST, message, param, "context_length_exceeded", 0);
    }

    /** 401: a key is required and none or a wrong one was given. */
    public static ApiError invalidApiKey() {
        return new ApiError(401, AUTHENTICATION, "a valid API key is required: send it as 'Authorization: Bearer KEY'",
                null, "invalid_api_key", 0);
    }

    /** 403: an API key on an endpoint that takes only admin keys ({@code baton.router.admin-keys}). */
    public static ApiError adminKeyRequired() {
        return new ApiError(403, PERMISSION, "this is an admin endpoint: it needs an admin key "
                + "(baton.router.admin-keys), not an API key", null, "admin_key_required", 0);
    }

    /** 404: the request names a model this server does not serve. */
    public static ApiError modelNotFound(String requested, String served) {
        return new ApiError(404, INVALID_REQUEST, "the model '" + requested + "' does not exist; this server serves '"
                + served + "'", "model", "model_not_found", 0);
    }

    /** 404: the request names a model this server does not serve, when it serves several. */
    public static ApiError modelNotFound(String requested, java.util.List<String> served) {
        return served.size() == 1 ? modelNotFound(requested, served.get(0))
                : new ApiError(404, INVALID_REQUEST, "the model '" + requested + "' does not exist; this server serves '"
                        + String.join("', '", served) + "'", "model", "model_not_found", 0);
    }

    /** 400: a request without {@code model} to a server that serves several models. */
    public static ApiError modelRequired(java.util.List<String> served) {
        return new ApiError(400, INVALID_REQUEST, "this server serves several models ('" + String.join("', '", served)
                + "'): name one in 'model'", "model", "model_required", 0);
    }

    /** 404: no such endpoint. */
    public static ApiError unknownUrl(String method, String path) {
        return new ApiError(404, INVALID_REQUEST, "invalid URL (" + method + " " + path + ")", null, "unknown_url", 0);
    }

    /** 405: the endpoint exists but not with this method. */
    public static ApiError methodNotAllowed(String method, String path, String allowed) {
        return new ApiError(405, INVALID_REQUEST, method + " is not allowed on " + path + "; use " + allowed, null,
                "method_not_allowed", 0);
    }

    /** 413: the body is larger than the server accepts. */
    public static ApiError requestTooLarge(long limitBytes) {
        return new ApiError(413, INVALID_REQUEST, "the request body is larger than " + limitBytes + " bytes", null,
                "request_too_large", 0);
    }

    /** 408: the request body did not arrive within the server's body timeout. */
    public static ApiError bodyTimeout(long timeoutMillis) {
        return new ApiError(408, INVALID_REQUEST, "the request body did not arrive within " + timeoutMillis
                + " ms (the server's body-timeout)", null, "request_timeout", 0);
    }

    /** 503: the cluster is at capacity (queues or KV full); a client's own limits are {@link #rateLimited}. */
    public static ApiError overloaded(String reason, long retryAfterSeconds) {
        return new ApiError(503, UNAVAILABLE, "the server is overloaded (" + reason + "); retry later", null,
                "queue_full", retryAfterSeconds);
    }

    /** 429: the client's API key is over one of its own limits (rate, tokens, concurrency). */
    public static ApiError rateLimited(String reason, long retryAfterSeconds) {
        return new ApiError(429, RATE_LIMIT, "rate limit reached (" + reason + "); retry later", null,
                "rate_limit_exceeded", retryAfterSeconds);
    }

    /** 503: the backend cannot serve now. */
    public static ApiError unavailable(String reason, long retryAfterSeconds) {
        return new ApiError(503, UNAVAILABLE, "the server cannot serve requests now (" + reason + "); retry later", null,
                "not_ready", retryAfterSeconds);
    }

    /** 504: the request ran past the server's request timeout and was cancelled. */
    public static ApiError timeout(long timeoutMillis) {
        return new ApiError(504, SERVER, "the request did not finish within the server's timeout of " + timeoutMillis
                + " ms and was cancelled", null, "timeout", 0);
    }

    /** 500: the backend failed the request; the reason stays in the server's logs. */
    public static ApiError backendFailure() {
        return new ApiError(500, SERVER, "the server failed to complete the request; it may be retried", null, null, 0);
    }

    /** The client stopped reading a stream and its buffer filled; the connection is closed (no body is sent). */
    public static ApiError streamBufferFull() {
        return new ApiError(500, SERVER, "the client stopped reading the stream", null, "stream_buffer_full", 0);
    }

    /** 500: a bug; details stay in the server's logs. */
    public static ApiError internal() {
        return new ApiError(500, SERVER, "internal server error", null, null, 0);
    }

    /** A low-cardinality name for metrics: the code, else the type. */
    public String kind() {
        return code != null ? code : type;
    }
}
