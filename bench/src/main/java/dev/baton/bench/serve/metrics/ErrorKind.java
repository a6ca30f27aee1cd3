package dev.baton.bench.serve.metrics;

/**
 * Why a request failed. {@link #key(int)} gives the label errors are counted under in summaries
 * ({@code http_500}, {@code timeout}, ...).
 */
public enum ErrorKind {
    /** The connection could not be opened. */
    CONNECT("connect"),
    /** The request ran past its time limit (no response, or the stream stalled). */
    TIMEOUT("timeout"),
    /** The server answered with an HTTP status other than 200; counted per status. */
    HTTP("http"),
    /** The stream carried an error object ({@code data: {"error": ...}}). */
    STREAM_ERROR("stream_error"),
    /** The stream ended before {@code data: [DONE]}. */
    TRUNCATED("truncated"),
    /** The connection broke while the answer was streaming. */
    IO("io"),
    /** The answer was not an OpenAI stream (unparseable chunk, wrong content type). */
    BAD_RESPONSE("bad_response"),
    /** The stream finished cleanly but carried no content, so there is no first token to time. */
    NO_OUTPUT("no_output");

    private final String label;

    ErrorKind(String label) {
        this.label = label;
    }

    /** The summary label: {@code http_<status>} for {@link #HTTP}, else the kind's name in snake case. */
    public String key(int httpStatus) {
        return this == HTTP ? "http_" + httpStatus : label;
    }
}
