package dev.baton.bench.serve.metrics;

/**
 * What one streamed request looked like from the client, as raw {@link System#nanoTime()} stamps.
 *
 * <p>{@code sendNs} is taken just before the request is handed to the HTTP client; {@code contentNs[i]}
 * when the {@code i}-th content chunk (a chunk carrying non-empty text) was read; {@code endNs} when the
 * stream ended ({@code data: [DONE]}, or the failure). A failed request has a non-null {@code error};
 * it may still carry the chunks that arrived before the failure. Immutable by convention: the arrays
 * are not copied and must not be changed after construction.
 *
 * @param text the concatenated content (the assistant's answer), used as history by multi-turn sessions
 * @param usage the last {@code usage} object of the stream, or null if none came
 * @param httpStatus the response status, or 0 when no response came
 * @param errorMessage a short description of the failure, or null
 * @param retryAfter the response's {@code Retry-After} header, or null when it had none (or no response came)
 */
public record RequestResult(long sendNs, long endNs, long[] contentNs, String text, Usage usage, ErrorKind error,
        int httpStatus, String errorMessage, String retryAfter) {

    /** A result without a {@code Retry-After} header. */
    public RequestResult(long sendNs, long endNs, long[] contentNs, String text, Usage usage, ErrorKind error, int httpStatus,
            String errorMessage) {
        this(sendNs, endNs, contentNs, text, usage, error, httpStatus, errorMessage, null);
    }

    /** Whether the request completed: HTTP 200, a clean stream to {@code [DONE]}, at least one content chunk. */
    public boolean ok() {
        return error == null;
    }
}
