package dev.baton.bench.serve.overload;

import dev.baton.bench.serve.metrics.RequestRecord;
import dev.baton.bench.serve.metrics.Stats;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one phase of the overload benchmark did, split by what the router answered: <b>admitted</b> (HTTP 200: the
 * router took the request), <b>refused</b> (429 or 503, the answers of admission control) and <b>other</b> (any
 * other status, or no answer at all: a reset, a timeout, a refused connection). Goodput counts admitted requests
 * that completed within the SLO (every completed request when no SLO is set), per second of the phase.
 *
 * <p>A pure function of the phase's request records; thread-safe.
 *
 * @param phase the phase's name ({@code capacity}, {@code overload}, {@code recovery})
 * @param load the load's label ({@code rate=2/s})
 * @param offeredPerSecond requests sent over the phase's arrival window
 * @param durationS the phase's duration, its start to the end of its last request (the goodput's divisor)
 * @param sent requests sent
 * @param admitted requests answered 200
 * @param completed admitted requests that streamed to the end
 * @param failedAfterAdmission admitted requests that failed afterwards (an error event, a cut stream), by error label
 * @param refusedByStatus refusals by status (429, 503)
 * @param refusedWithRetryAfter refusals by status that carried {@code Retry-After}
 * @param refusalMs the latency of refusals, send to the end of the answer, in milliseconds
 * @param other requests answered with another status or not at all, by error label ({@code http_500}, {@code io})
 * @param completedPerSecond admitted requests that completed, within the SLO or not, per second
 * @param goodputPerSecond admitted requests that met the SLO, per second
 * @param goodputTokensPerSecond the output tokens of those requests, per second
 * @param admittedPromptTokens the prompt tokens of admitted requests (the server's count, else the workload's)
 */
public record PhaseStats(String phase, String load, double offeredPerSecond, double durationS, int sent, int admitted,
        int completed, Map<String, Integer> failedAfterAdmission, Map<Integer, Integer> refusedByStatus,
        Map<Integer, Integer> refusedWithRetryAfter, Stats refusalMs, Map<String, Integer> other, double completedPerSecond, double goodputPerSecond,
        double goodputTokensPerSecond, long admittedPromptTokens) {

    public PhaseStats {
        failedAfterAdmission = Map.copyOf(failedAfterAdmission);
        refusedByStatus = Map.copyOf(refusedByStatus);
        refusedWithRetryAfter = Map.copyOf(refusedWithRetryAfter);
        other = Map.copyOf(other);
    }

    /** Whether a status is an admission control refusal. */
    public static boolean isRefusal(int httpStatus) {
        return httpStatus == 429 || httpStatus == 503;
    }

    /**
     * The statistics of one phase.
     *
     * @param arrivalWindowS how long the phase offered arrivals, in seconds (the offered rate's divisor); positive
     * @param durationS the phase's duration, start to the end of its last request, in seconds; positive
     */
    public static PhaseStats of(String phase, String load, List<RequestRecord> records, double arrivalWindowS, double durationS) {
        if (!(arrivalWindowS > 0) || !(durationS > 0)) {
            throw new IllegalArgumentException("phase " + phase + ": arrival window " + arrivalWindowS + " s and duration "
                    + durationS + " s must be positive");
        }
        int admitted = 0;
        int completed = 0;
        int good = 0;
        long goodTokens = 0;
        long promptTokens = 0;
        Map<String, Integer> failed = new TreeMap<>();
        Map<Integer, Integer> refused = new TreeMap<>();
        Map<Integer, Integer> withRetryAfter = new TreeMap<>();
        Map<String, Integer> other = new TreeMap<>();
        double[] refusalMs = new double[records.size()];
        int refusals = 0;
        for (RequestRecord r : records) {
            if (r.httpStatus() == 200) {
                admitted++;
                promptTokens += r.promptTokensForThroughput();
                if (r.ok()) {
                    completed++;
                } else {
                    failed.merge(r.error(), 1, Integer::sum);
                }
                if (r.meetsSlo()) {
                    good++;
                    goodTokens += r.outputTokens();
                }
            } else if (isRefusal(r.httpStatus())) {
                refused.merge(r.httpStatus(), 1, Integer::sum);
                if (r.retryAfter() != null && !r.retryAfter().isBlank()) {
                    withRetryAfter.merge(r.httpStatus(), 1, Integer::sum);
                }
                refusalMs[refusals++] = r.e2eMs();
            } else {
                other.merge(r.error() == null ? "http_" + r.httpStatus() : r.error(), 1, Integer::sum);
            }
        }
        return new PhaseStats(phase, load, records.size() / arrivalWindowS, durationS, records.size(), admitted, completed,
                failed, refused, withRetryAfter, Stats.of(java.util.Arrays.copyOf(refusalMs, refusals)), other,
                completed / durationS, good / durationS, goodTokens / durationS, promptTokens);
    }

    /** Refusals of any status. */
    public int refused() {
        return refusedByStatus.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Refusals that carried no {@code Retry-After}. */
    public int refusedWithoutRetryAfter() {
        return refused() - refusedWithRetryAfter.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Requests answered with another status or not at all. */
    public int otherFailures() {
        return other.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Admitted requests that failed after their 200. */
    public int admittedFailures() {
        return failedAfterAdmission.values().stream().mapToInt(Integer::intValue).sum();
    }
}
