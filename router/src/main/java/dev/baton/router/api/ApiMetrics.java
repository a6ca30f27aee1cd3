package dev.baton.router.api;

import dev.baton.router.api.openai.ApiError;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP API's meters (docs/design.md §8). Names are dot-case with base units; tags are the endpoint,
 * the status or error code and the model: small fixed sets, never a request id.
 *
 * <pre>
 * baton.router.requests                 counter  endpoint, status     every answer, by HTTP status
 * baton.router.request.errors           counter  endpoint, code       error answers and errors after streaming started
 * baton.router.requests.disconnected    counter  endpoint             clients gone before their request ended
 * baton.router.requests.in.flight       gauge                         requests accepted by the backend, not yet ended
 * baton.router.time.to.first.token      timer    endpoint             arrival to first generated token (histogram)
 * baton.router.time.per.output.token    timer    endpoint             (last token - first token) / (tokens - 1) (histogram)
 * baton.router.request.duration         timer    endpoint             arrival to the request's end, accepted requests (histogram)
 * baton.router.prompt.tokens            counter  endpoint             prompt tokens of finished requests
 * baton.router.cached.prompt.tokens     counter  endpoint             of which reused from a prefix cache
 * baton.router.completion.tokens        counter  endpoint             generated tokens of finished requests
 * </pre>
 *
 * <p>Thread-safe: meters are Micrometer's; the per-endpoint ones are created up front.
 */
final class ApiMetrics {

    private final MeterRegistry registry;
    private final Tags common;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Map<Endpoint, Timer> ttft = new EnumMap<>(Endpoint.class);
    private final Map<Endpoint, Timer> tpot = new EnumMap<>(Endpoint.class);
    private final Map<Endpoint, Timer> duration = new EnumMap<>(Endpoint.class);
    private final Map<Endpoint, Counter> promptTokens = new EnumMap<>(Endpoint.class);
    private final Map<Endpoint, Counter> cachedTokens = new EnumMap<>(Endpoint.class);
    private final Map<Endpoint, Counter> completionTokens = new EnumMap<>(Endpoint.class);
    private final Map<Endpoint, Counter> disconnected = new EnumMap<>(Endpoint.class);
    private final RequestObserver observer;

    ApiMetrics(MeterRegistry registry, String modelId) {
        this(registry, modelId, RequestObserver.NONE);
    }

    ApiMetrics(MeterRegistry registry, String modelId, RequestObserver observer) {
        this.registry = registry;
        this.observer = observer;
        this.common = Tags.of("model", modelId);
        Gauge.builder("baton.router.requests.in.flight", inFlight, AtomicInteger::get)
                .description("Requests accepted by the backend that have not ended")
                .tags(common).strongReference(true).register(registry);
        for (Endpoint e : new Endpoint[] {Endpoint.COMPLETIONS, Endpoint.CHAT_COMPLETIONS}) {
            Tags tags = common.and("endpoint", e.path);
            ttft.put(e, latency("baton.router.time.to.first.token", "Arrival to the first generated token", tags,
                    Duration.ofMillis(1), Duration.ofMinutes(5)));
            tpot.put(e, latency("baton.router.time.per.output.token", "Time per generated token after the first", tags,
                    Duration.ofNanos(100_000), Duration.ofSeconds(10)));
            duration.put(e, latency("baton.router.request.duration", "Arrival to the end of an accepted request", tags,
                    Duration.ofMillis(1), Duration.ofMinutes(10)));
            promptTokens.put(e, tokens("baton.router.prompt.tokens", "Prompt tokens of finished requests", tags));
            cachedTokens.put(e, tokens("baton.router.cached.prompt.tokens", "Prompt tokens reused from a prefix cache", tags));
            completionTokens.put(e, tokens("baton.router.completion.tokens", "Generated tokens of finished requests", tags));
            disconnected.put(e, Counter.builder("baton.router.requests.disconnected")
                    .description("Clients that went away before their request ended").tags(tags).register(registry));
        }
    }

    private Timer latency(String name, String description, Tags tags, Duration min, Duration max) {
        return Timer.builder(name).description(description).tags(tags).publishPercentileHistogram()
                .minimumExpectedValue(min).maximumExpectedValue(max).register(registry);
    }

    private Counter tokens(String name, String description, Tags tags) {
        return Counter.builder(name).description(description).baseUnit("tokens").tags(tags).register(registry);
    }

    /** One answer went out with {@code status}. */
    void answered(Endpoint endpoint, int status) {
        Counter.builder("baton.router.requests").description("Answers by endpoint and HTTP status")
                .tags(common).tag("endpoint", endpoint.path).tag("status", Integer.toString(status))
                .register(registry).increment();
    }

    /** An error answer, or an error event in a stream. */
    void error(Endpoint endpoint, ApiError error) {
        Counter.builder("baton.router.request.errors").description("Errors by endpoint and code")
                .tags(common).tag("endpoint", endpoint.path).tag("code", error.kind())
                .register(registry).increment();
    }

    void disconnected(Endpoint endpoint) {
        disconnected.get(endpoint).increment();
    }

    void started() {
        inFlight.incrementAndGet();
        observer.arrived();
    }

    /** A request counted by {@link #started()} that the backend did not take. */
    void notStarted() {
        inFlight.decrementAndGet();
    }

    void ended(Endpoint endpoint, long elapsedNanos) {
        inFlight.decrementAndGet();
        duration.get(endpoint).record(elapsedNanos, TimeUnit.NANOSECONDS);
    }

    void firstToken(Endpoint endpoint, long sinceArrivalNanos) {
        ttft.get(endpoint).record(sinceArrivalNanos, TimeUnit.NANOSECONDS);
        observer.firstToken(sinceArrivalNanos);
    }

    /**
     * @param arrivalNanos          the request's arrival
     * @param ttftNanos             arrival to first token, -1 for none
     * @param firstToLastTokenNanos first to last token
     */
    void finished(Endpoint endpoint, long arrivalNanos, int prompt, int cached, int completion, long ttftNanos,
            long firstToLastTokenNanos) {
        promptTokens.get(endpoint).increment(prompt);
        cachedTokens.get(endpoint).increment(cached);
        completionTokens.get(endpoint).increment(completion);
        long tpotNanos = -1;
        if (completion > 1) {
            tpotNanos = firstToLastTokenNanos / (completion - 1);
            tpot.get(endpoint).record(tpotNanos, TimeUnit.NANOSECONDS);
        }
        observer.finished(arrivalNanos, prompt, cached, completion, ttftNanos, tpotNanos);
    }

    int inFlight() {
        return inFlight.get();
    }
}
