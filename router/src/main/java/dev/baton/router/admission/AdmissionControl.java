package dev.baton.router.admission;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The router's admission control (docs/design.md §7, README "Admission control"): decides, before a
 * request is dispatched and before any of its tokens is computed, whether it is taken, and otherwise
 * answers at once with the status and {@code Retry-After} to send.
 *
 * <pre>
 *  per API key (client limits, 429)          this router (capacity, 503)
 *  1. requests in flight  <= max-concurrent   4. requests in flight        <= max-requests-in-flight
 *  2. requests/s bucket   has 1               5. queued prompt tokens + p  <= max-queued-prompt-tokens
 *  3. tokens/min bucket   has p + max_tokens  6. KV positions claimed + p + max_tokens
 *                                                                          <= kv-fraction * pool KV positions
 *                                             7. predicted TTFT = (queued + p) / speed <= max-ttft
 *                                                (before 512 prompt tokens were computed: queued + p <= 8192)
 * </pre>
 *
 * The first check that fails decides; a refused request changes no count. An admitted one holds a
 * {@link Ticket}: its prompt tokens leave the queue when its first token arrives
 * ({@link Ticket#prefilled}), and everything else it holds when it ends ({@link Ticket#ended}, called
 * once or more, from any path). Unused {@code max_tokens} go back to the key's token bucket.
 *
 * <p>Several routers: each counts only what it admitted itself. Per-key limits and router-wide bounds
 * are per router (with N routers behind a balancer a key gets up to N times its limits: divide the
 * limits by N to enforce a cluster-wide figure); the TTFT prediction uses the speed this router
 * measured, which includes the time other routers' requests take, so it stays right as long as the
 * routers see similar traffic. The nodes' own queue bounds ({@code baton.node.queue}) hold for all
 * routers together.
 *
 * <p>Thread-safe: every method may be called from any thread; a short lock guards the counts. Memory is
 * bounded: one entry per API key seen (the keys are the configured ones, or one for an open API).
 */
public final class AdmissionControl {

    /** Why a request was refused (the tag of {@code baton.router.admission.rejections}). */
    public enum Reason {
        KEY_CONCURRENCY(429, "key_concurrency"), KEY_REQUESTS(429, "key_requests"), KEY_TOKENS(429, "key_tokens"),
        REQUESTS_IN_FLIGHT(503, "requests_in_flight"), QUEUED_TOKENS(503, "queued_tokens"), KV(503, "kv"),
        TTFT(503, "ttft");

        /** The HTTP status: 429 for a client's own limits, 503 for the cluster's capacity. */
        public final int status;
        /** The metric tag. */
        public final String tag;

        Reason(int status, String tag) {
            this.status = status;
            this.tag = tag;
        }
    }

    /** What {@link #admit} decided. */
    public sealed interface Decision permits Admitted, Refused {}

    /** Taken: the caller dispatches the request and ends the ticket when it ends. */
    public record Admitted(Ticket ticket) implements Decision {}

    /**
     * Not taken: answer {@code reason.status} with {@code message} and {@code Retry-After: retryAfterSeconds}
     * (at least 1).
     */
    public record Refused(Reason reason, String message, long retryAfterSeconds) implements Decision {}

    /**
     * Prompt tokens queued at most while the prefill speed is not measured (before a first prompt is
     * computed) and {@code max-ttft} is on: a cold router cannot predict, so it queues little until it can.
     */
    static final long COLD_QUEUED_PROMPT_TOKENS = 8192;

    /**
     * Prompt tokens computed before the measured speed is used: a few short first prompts say little about it (their
     * wait is mostly the fixed latency of routing, a step and the handoff: a 3-token prompt answered in 0.3 s
     * "measures" 10 tokens/s and would then refuse a burst that the cluster computes in seconds). Until then the
     * cold bound holds.
     */
    static final long MIN_MEASURED_PROMPT_TOKENS = 512;

    private final AdmissionSettings settings;
    private final LongSupplier clock;
    private final long minRetryAfterSeconds;
    private final TtftPredictor predictor;
    private final Map<String, KeyState> keys = new HashMap<>();
    private final Map<Reason, Counter> rejections = new EnumMap<>(Reason.class);
    private int requestsInFlight; // guarded by this
    private long kvPositions; // guarded by this: prompt plus max_tokens of the requests in flight

    /**
     * @param settings             validated settings
     * @param minRetryAfterSeconds the {@code Retry-After} of a refusal whose wait cannot be computed (the
     *                             router's {@code retry-after}); also the least sent
     * @param clock                {@link System#nanoTime()} in production
     * @param registry             where the meters go; null for none
     */
    public AdmissionControl(AdmissionSettings settings, long minRetryAfterSeconds, LongSupplier clock,
            MeterRegistry registry) {
        this.settings = settings.validate();
        this.minRetryAfterSeconds = Math.max(1, minRetryAfterSeconds);
        this.clock = clock;
        this.predictor = new TtftPredictor(0.9, MIN_MEASURED_PROMPT_TOKENS, clock.getAsLong());
        if (registry != null) {
            for (Reason r : Reason.values()) {
                rejections.put(r, Counter.builder("baton.router.admission.rejections").tag("reason", r.tag)
                        .description("requests refused by the router's admission control, by the check that refused them")
                        .register(registry));
            }
            Gauge.builder("baton.router.admission.queued.prompt.tokens", this, a -> a.queuedPromptTokens())
                    .description("prompt tokens this router admitted whose first token has not come").register(registry);
            Gauge.builder("baton.router.admission.prefill.speed", this, a -> a.prefillTokensPerSecond())
                    .description("measured prompt tokens computed per second while requests waited (NaN until measured)")
                    .baseUnit("tokens.per.second").register(registry);
        }
    }

    /**
     * Decides on a request of {@code promptTokens} prompt tokens and {@code maxTokens} completion tokens
     * from the holder of {@code apiKey} ({@code ""} for an open API).
     *
     * @param poolKvPositions KV positions of the pool that holds whole requests (decode nodes, or workers)
     *                        now; 0 when unknown (the KV check is then skipped)
     */
    public synchronized Decision admit(String apiKey, int promptTokens, int maxTokens, long poolKvPositions) {
        long now = clock.getAsLong();
        long positions = (long) promptTokens + maxTokens;
        KeyState key = keys.computeIfAbsent(apiKey, k -> new KeyState(settings, now));
        // client limits (429)
        if (settings.keyMaxConcurrent() > 0 && key.inFlight >= settings.keyMaxConcurrent()) {
            return refuse(Reason.KEY_CONCURRENCY, "this API key has " + key.inFlight + " requests in flight, its limit is "
                    + settings.keyMaxConcurrent(), -1);
        }
        if (key.requests != null) {
            long wait = key.requests.waitNanos(1, now);
            if (wait > 0) {
                return refuse(Reason.KEY_REQUESTS, "this API key is limited to " + settings.keyRequestsPerSecond()
                        + " requests per second", wait);
            }
        }
        if (key.tokens != null) {
            long wait = key.tokens.waitNanos(positions, now);
            if (wait == Long.MAX_VALUE) {
                return refuse(Reason.KEY_TOKENS, "the request's " + positions + " tokens (prompt plus max_tokens) are more"
                        + " than this API key's limit of " + settings.keyTokensPerMinute() + " tokens per minute", -1);
            }
            if (wait > 0) {
                return refuse(Reason.KEY_TOKENS, "this API key is limited to " + settings.keyTokensPerMinute()
                        + " tokens (prompt plus max_tokens) per minute", wait);
            }
        }
        // capacity (503)
        if (requestsInFlight >= settings.maxRequestsInFlight()) {
            return refuse(Reason.REQUESTS_IN_FLIGHT, "the router has " + requestsInFlight + " requests in flight, its"
                    + " limit is " + settings.maxRequestsInFlight(), -1);
        }
        long queued = predictor.queuedTokens();
        if (queued > 0 && queued + promptTokens > settings.maxQueuedPromptTokens()) {
            return refuse(Reason.QUEUED_TOKENS, queued + " prompt tokens wait to be computed; the router queues at most "
                    + settings.maxQueuedPromptTokens(), predictor.drainNanos(
                            Math.max(0, settings.maxQueuedPromptTokens() - promptTokens), now));
        }
        if (settings.kvFraction() > 0 && poolKvPositions > 0 && kvPositions > 0
                && kvPositions + positions > settings.kvFraction() * poolKvPositions) {
            return refuse(Reason.KV, "the requests in flight claim " + kvPositions + " of the serving nodes' "
                    + poolKvPositions + " KV positions; this one needs " + positions, -1);
        }
        if (!settings.maxTtft().isZero() && queued > 0) {
            long predicted = predictor.predictNanos(promptTokens, now);
            long limit = settings.maxTtft().toNanos();
            if (predicted < 0 && queued + promptTokens > COLD_QUEUED_PROMPT_TOKENS) {
                // too little computed yet (a cold router): no speed to predict with, so queue little
                return refuse(Reason.TTFT, "the router has not measured the prefill speed yet and " + queued
                        + " prompt tokens wait", -1);
            }
            if (predicted > limit) {
                return refuse(Reason.TTFT, String.format("the predicted time to first token is %.1f s (%d prompt tokens"
                        + " queued at %.0f tokens/s), over the limit of %.1f s", predicted / 1e9, queued,
                        predictor.tokensPerSecond(now), limit / 1e9), predicted - limit);
            }
        }
        // taken
        key.inFlight++;
        if (key.requests != null) {
            key.requests.take(1, now);
        }
        if (key.tokens != null) {
            key.tokens.take(positions, now);
        }
        requestsInFlight++;
        kvPositions += positions;
        predictor.admitted(promptTokens, now);
        return new Admitted(new Ticket(key, promptTokens, maxTokens));
    }

    private Refused refuse(Reason reason, String message, long waitNanos) {
        Counter c = rejections.get(reason);
        if (c != null) {
            c.increment();
        }
        long seconds = waitNanos <= 0 ? minRetryAfterSeconds : Math.max(minRetryAfterSeconds, (waitNanos + 999_999_999L)
                / 1_000_000_000L);
        return new Refused(reason, message, Math.min(seconds, Math.max(minRetryAfterSeconds,
                settings.maxRetryAfter().toSeconds())));
    }

    /** Prompt tokens admitted whose first token has not come. */
    public synchronized long queuedPromptTokens() {
        return predictor.queuedTokens();
    }

    /** Requests admitted and not ended. */
    public synchronized int requestsInFlight() {
        return requestsInFlight;
    }

    /** The measured prefill speed (prompt tokens per second), NaN until measured. */
    public synchronized double prefillTokensPerSecond() {
        return predictor.tokensPerSecond(clock.getAsLong());
    }

    /** The predicted time to first token of a request of {@code promptTokens} now, in nanoseconds; -1 unknown. */
    public synchronized long predictedTtftNanos(int promptTokens) {
        return predictor.predictNanos(promptTokens, clock.getAsLong());
    }

    private synchronized void prefilled(Ticket t) {
        if (!t.prefilled && !t.ended) {
            t.prefilled = true;
            predictor.computed(t.promptTokens, clock.getAsLong());
        }
    }

    private synchronized void ended(Ticket t, int completionTokens) {
        if (t.ended) {
            return;
        }
        t.ended = true;
        long now = clock.getAsLong();
        if (!t.prefilled) {
            predictor.dropped(t.promptTokens, now);
        }
        requestsInFlight--;
        kvPositions -= (long) t.promptTokens + t.maxTokens;
        t.key.inFlight--;
        if (t.key.tokens != null && completionTokens >= 0 && completionTokens < t.maxTokens) {
            t.key.tokens.giveBack(t.maxTokens - completionTokens, now);
        }
    }

    /** One admitted request's hold on the counts. Thread-safe; its methods may be called more than once. */
    public final class Ticket {
        private final KeyState key;
        private final int promptTokens;
        private final int maxTokens;
        private boolean prefilled; // guarded by the AdmissionControl
        private boolean ended;

        private Ticket(KeyState key, int promptTokens, int maxTokens) {
            this.key = key;
            this.promptTokens = promptTokens;
            this.maxTokens = maxTokens;
        }

        /** The request's first token arrived: its prompt is computed. */
        public void prefilled() {
            AdmissionControl.this.prefilled(this);
        }

        /**
         * The request ended (finished, failed, cancelled, not accepted by the backend); releases what it
         * holds. {@code completionTokens}: tokens generated, or -1 when unknown (nothing is given back to the
         * key's token bucket then).
         */
        public void ended(int completionTokens) {
            AdmissionControl.this.ended(this, completionTokens);
        }
    }

    /** An API key's limits and requests in flight. */
    private static final class KeyState {
        final TokenBucket requests; // null: unlimited
        final TokenBucket tokens;
        int inFlight;

        KeyState(AdmissionSettings s, long now) {
            double rps = s.keyRequestsPerSecond();
            this.requests = rps > 0 ? new TokenBucket(s.keyBurstRequests() > 0 ? s.keyBurstRequests() : Math.max(1, rps),
                    rps, now) : null;
            long tpm = s.keyTokensPerMinute();
            this.tokens = tpm > 0 ? new TokenBucket(tpm, tpm / 60.0, now) : null;
        }
    }
}
