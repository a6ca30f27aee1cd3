package dev.baton.bench.serve.metrics;

/**
 * One measured request, derived from a {@link RequestResult} by the definitions of {@link RequestMetrics}:
 * the row written to the per-request JSON and CSV output. Times in milliseconds; {@code NaN} where a figure
 * is undefined (TTFT of a request that produced nothing, TPOT with one output token).
 *
 * @param index the request's position in its load point (0-based, in send order of the workload)
 * @param target the target's name
 * @param point the load point's label ({@code rate=2/s}, {@code concurrency=4})
 * @param session the session (conversation) the request belongs to
 * @param turn the turn within the session (0 for single-turn workloads)
 * @param sendMs when the request was sent, relative to the start of its load point
 * @param error the error label ({@link ErrorKind#key}) or null when the request completed
 * @param httpStatus the HTTP status, 0 when no response came
 * @param expectedPromptTokens the prompt length the workload asked for, -1 when unknown
 * @param promptTokens the server's {@code usage.prompt_tokens}, -1 when not reported
 * @param outputTokens {@link RequestMetrics#outputTokens}
 * @param maxTokens the {@code max_tokens} the request asked for
 * @param chunks content chunks received
 * @param cachedTokens the server's {@code usage.prompt_tokens_details.cached_tokens}, -1 when not reported
 * @param itlMs the inter-token latencies of this request
 * @param meetsSlo whether it completed within every objective of the run's {@link Slo}
 * @param retryAfter the {@code Retry-After} header of a refusal (429, 503), or null when the answer had none
 */
public record RequestRecord(int index, String target, String point, int session, int turn, double sendMs,
        boolean ok, String error, String errorMessage, int httpStatus, int expectedPromptTokens, int promptTokens,
        int outputTokens, int maxTokens, int chunks, int cachedTokens, double ttftMs, double tpotMs, double e2eMs, double[] itlMs,
        boolean meetsSlo, String retryAfter) {

    /** A record without a {@code Retry-After} header. */
    public RequestRecord(int index, String target, String point, int session, int turn, double sendMs, boolean ok, String error,
            String errorMessage, int httpStatus, int expectedPromptTokens, int promptTokens, int outputTokens, int maxTokens,
            int chunks, int cachedTokens, double ttftMs, double tpotMs, double e2eMs, double[] itlMs, boolean meetsSlo) {
        this(index, target, point, session, turn, sendMs, ok, error, errorMessage, httpStatus, expectedPromptTokens, promptTokens,
                outputTokens, maxTokens, chunks, cachedTokens, ttftMs, tpotMs, e2eMs, itlMs, meetsSlo, null);
    }

    /**
     * Derives the record of {@code r}.
     *
     * @param pointStartNs the {@link System#nanoTime()} at which the load point started
     */
    public static RequestRecord of(int index, String target, String point, int session, int turn,
            int expectedPromptTokens, int maxTokens, long pointStartNs, RequestResult r, Slo slo) {
        long[] c = r.contentNs();
        double ttft = RequestMetrics.ttftMs(r.sendNs(), c);
        double e2e = RequestMetrics.e2eMs(r.sendNs(), r.endNs());
        int out = RequestMetrics.outputTokens(r.usage(), c.length);
        double tpot = r.ok() ? RequestMetrics.tpotMs(e2e, ttft, out) : Double.NaN;
        Usage u = r.usage();
        return new RequestRecord(index, target, point, session, turn, (r.sendNs() - pointStartNs) / 1e6, r.ok(),
                r.ok() ? null : r.error().key(r.httpStatus()), r.errorMessage(), r.httpStatus(), expectedPromptTokens,
                u == null ? -1 : u.promptTokens(), out, maxTokens, c.length, u == null ? -1 : u.cachedTokens(), ttft, tpot, e2e,
                RequestMetrics.itlMs(c), slo.meets(r.ok(), ttft, tpot, e2e), r.retryAfter());
    }

    /** Whether it completed with fewer tokens than asked for: the server stopped early (at EOS, ignore_eos unsupported). */
    public boolean shortOutput() {
        return ok && outputTokens < maxTokens;
    }

    /** The prompt tokens to count in throughput: the server's figure when given, else the expected length. */
    public int promptTokensForThroughput() {
        return promptTokens >= 0 ? promptTokens : Math.max(0, expectedPromptTokens);
    }
}
