package dev.baton.router.api;

import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.OpenAiJson.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One accepted request between the backend and its HTTP answer: the {@link BackendListener} the
 * backend calls, which turns its calls into {@link Event}s offered to a bounded stream queue that the
 * answer (streamed or collected) reads.
 *
 * <p>A run ends exactly once, whichever comes first: the backend finishes or fails it, the request
 * timeout fires, the client goes away (the stream is cancelled), or the client reads so slowly that
 * the buffer fills. The last three cancel the request in the backend. Ending records the metrics and
 * completes (or fails) the queue.
 *
 * <p>Threading: listener methods come from the backend's threads (serialized per request, see
 * {@link BackendListener}); {@link #timeout()} from the scheduler; {@link #streamClosed()} from the
 * stream. None blocks: {@link BoundedSourceQueue#offer} returns at once. The queue holds the
 * configured buffer plus room for the one terminal event, so a terminal event is never dropped.
 */
final class GenerationRun implements BackendListener {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationRun.class);

    /** What the answer is made of. */
    sealed interface Event permits Token, Finished, Failed {}

    /**
     * Generated text (never empty), and the log-probabilities of the tokens that completed it (those
     * since the last event; empty when the request asked for none).
     */
    record Token(String text, List<GenerationEvent.Logprob> logprobs) implements Event {

        Token(String text) {
            this(text, List.of());
        }
    }

    /** The request ended normally; {@code text} is the held-back rest, {@code logprobs} those of tokens not reported yet. */
    record Finished(FinishReason reason, String text, Usage usage, List<GenerationEvent.Logprob> logprobs)
            implements Event {

        Finished(FinishReason reason, String text, Usage usage) {
            this(reason, text, usage, List.of());
        }
    }

    /** The request ended with an error the client is told about. */
    record Failed(ApiError error) implements Event {}

    /** The stream of a run whose client stopped reading. */
    static final class StreamBufferFull extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StreamBufferFull(RequestId id, int events) {
            super("the client of " + id + " stopped reading: " + events + " events are buffered", null, false, false);
        }
    }

    private final RequestId id;
    private final Endpoint endpoint;
    private final GenerationBackend backend;
    private final ApiMetrics metrics;
    private final BoundedSourceQueue<Event> queue;
    private final int bufferEvents;
    private final long arrivalNanos;
    private final long timeoutMillis;
    private final long retryAfterSeconds;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile int cachedTokens;
    private volatile Cancellable deadline;
    // written by the listener only (its calls are serialized)
    private long firstTokenNanos = -1;
    private long lastTokenNanos;
    private List<GenerationEvent.Logprob> pendingLogprobs = List.of(); // of tokens whose text is not out yet

    /**
     * @param queue        the answer's queue; it must hold {@code bufferEvents + 2} events
     * @param arrivalNanos {@link System#nanoTime()} when the HTTP request arrived
     */
    GenerationRun(RequestId id, Endpoint endpoint, GenerationBackend backend, ApiMetrics metrics,
            BoundedSourceQueue<Event> queue, int bufferEvents, long arrivalNanos, long timeoutMillis,
            long retryAfterSeconds) {
        this.id = id;
        this.endpoint = endpoint;
        this.backend = backend;
        this.metrics = metrics;
        this.queue = queue;
        this.bufferEvents = bufferEvents;
        this.arrivalNanos = arrivalNanos;
        this.timeoutMillis = timeoutMillis;
        this.retryAfterSeconds = retryAfterSeconds;
        metrics.started();
    }

    RequestId id() {
        return id;
    }

    /** The backend did not take the request: the run ends without a word to the backend. */
    void notAccepted() {
        if (ended.compareAndSet(false, true)) {
            metrics.notStarted();
            queue.complete();
        }
    }

    /** Arms the request timeout (after the backend accepted). */
    void deadline(Cancellable timer) {
        deadline = timer;
        if (ended.get()) {
            timer.cancel();
        }
    }

    @Override
    public void onPrefilled(int promptTokens, int cached) {
        cachedTokens = cached;
    }

    @Override
    public void onToken(int tokenId, String text) {
        onToken(tokenId, text, null);
    }

    @Override
    public void onToken(int tokenId, String text, GenerationEvent.Logprob logprob) {
        if (ended.get()) {
            return;
        }
        long now = System.nanoTime();
        if (firstTokenNanos < 0) {
            firstTokenNanos = now;
            metrics.firstToken(endpoint, now - arrivalNanos);
        }
        lastTokenNanos = now;
        if (logprob != null) {
            if (pendingLogprobs.isEmpty()) {
                pendingLogprobs = new ArrayList<>(2);
            }
            pendingLogprobs.add(logprob);
        }
        if (text.isEmpty()) {
            return; // its logprobs go with the next text
        }
        if (queue.size() >= bufferEvents) {
            bufferFull();
            return;
        }
        offer(new Token(text, takeLogprobs()));
    }

    private List<GenerationEvent.Logprob> takeLogprobs() {
        List<GenerationEvent.Logprob> l = pendingLogprobs;
        pendingLogprobs = List.of();
        return l;
    }

    @Override
    public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
        if (!end()) {
            return;
        }
        int cached = cachedTokens;
        long decodeNanos = firstTokenNanos < 0 ? 0 : lastTokenNanos - firstTokenNanos;
        metrics.finished(endpoint, arrivalNanos, promptTokens, cached, completionTokens,
                firstTokenNanos < 0 ? -1 : firstTokenNanos - arrivalNanos, decodeNanos);
        offer(new Finished(reason, text, new Usage(promptTokens, completionTokens, cached), takeLogprobs()));
        queue.complete();
    }

    @Override
    public void onFailed(String reason) {
        if (!end()) {
            return;
        }
        // answered 500 without the reason (it may name nodes and their state): the log keeps it for operators
        LOG.warn("{} failed in the backend: {}", id, reason);
        fail(ApiError.backendFailure());
    }

    @Override
    public void onFailed(String reason, boolean retryable) {
        if (!retryable) {
            onFailed(reason);
            return;
        }
        if (!end()) {
            return;
        }
        LOG.debug("{} failed in the backend (retryable): {}", id, reason);
        fail(ApiError.unavailable(reason, retryAfterSeconds));
    }

    /** The request timeout fired. */
    void timeout() {
        if (!end()) {
            return;
        }
        backend.cancel(id, "request timed out after " + timeoutMillis + " ms");
        fail(ApiError.timeout(timeoutMillis));
    }

    /** The answer's stream terminated: after the last event (nothing to do), or because the client went away. */
    void streamClosed() {
        if (!end()) {
            return;
        }
        backend.cancel(id, "client disconnected");
        metrics.disconnected(endpoint);
    }

    private void bufferFull() {
        if (!end()) {
            return;
        }
        backend.cancel(id, "client stopped reading the stream");
        metrics.error(endpoint, ApiError.streamBufferFull());
        queue.fail(new StreamBufferFull(id, bufferEvents));
    }

    private void fail(ApiError error) {
        metrics.error(endpoint, error);
        offer(new Failed(error));
        queue.complete();
    }

    private void offer(Event event) {
        QueueOfferResult r = queue.offer(event);
        if (r == QueueOfferResult.dropped()) {
            // cannot happen while the queue has the documented capacity; fail loudly rather than lose the end
            queue.fail(new StreamBufferFull(id, bufferEvents));
        }
    }

    /** Marks the run ended; true for the one caller that ends it. */
    private boolean end() {
        if (!ended.compareAndSet(false, true)) {
            return false;
        }
        Cancellable timer = deadline;
        if (timer != null) {
            timer.cancel();
        }
        metrics.ended(endpoint, System.nanoTime() - arrivalNanos);
        return true;
    }
}
