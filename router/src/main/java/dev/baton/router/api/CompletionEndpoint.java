package dev.baton.router.api;

import dev.baton.common.RequestId;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.router.admission.AdmissionControl;
import dev.baton.router.api.GenerationRun.Event;
import dev.baton.router.api.RequestPreparer.Prepared;
import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.ApiException;
import dev.baton.router.api.openai.CompletionRequest;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.OpenAiJson;
import dev.baton.router.api.openai.RequestParser;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: parse, prepare, submit to the
 * backend, answer.
 *
 * <pre>
 * body -> RequestParser -> RequestPreparer -> AdmissionControl -> backend.submit(id, tokens, params, cacheSalt, run)
 *                                                  | refused: 429 / 503      |  ACCEPTED      | other: 503 / 400
 *   backend thread -> run (BackendListener) -> bounded queue -> SSE frames or collected answer
 * </pre>
 *
 * <p>The status line is decided when the backend answers {@code submit}, before any token: 200 for
 * an accepted request, so failures after that arrive in a stream as an SSE error event (or, for a
 * whole answer, as its status). The request timeout runs from the request's arrival; a stream
 * cancelled by the client cancels the request in the backend.
 *
 * <p>Threading: {@link #handle} runs on the HTTP server's dispatcher and does not block; it renders
 * the chat template and tokenizes on that thread (CPU work in proportion to the prompt).
 */
final class CompletionEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(CompletionEndpoint.class);

    /** A served model: its backend, its card, its preparer. */
    private record Served(GenerationBackend backend, ModelCard model, RequestPreparer preparer) {}

    private final List<Served> served;
    private final List<String> ids;
    private final RouterSettings settings;
    private final ApiMetrics metrics;
    private final Materializer materializer;
    private final Scheduler scheduler;
    private final ExecutionContextExecutor executor;
    private final AdmissionControl admission;

    CompletionEndpoint(GenerationBackend backend, ModelCard model, RouterSettings settings, ApiMetrics metrics,
            Materializer materializer, Scheduler scheduler, ExecutionContextExecutor executor, AdmissionControl admission) {
        this(List.of(backend), settings, metrics, materializer, scheduler, executor, admission);
    }

    /**
     * The endpoint of a router that serves the models of {@code backends} (one backend per model, distinct ids): a
     * request goes to the backend its {@code model} names; without {@code model} to the only one, or 400 when there
     * are several; a model not served is 404.
     */
    CompletionEndpoint(List<GenerationBackend> backends, RouterSettings settings, ApiMetrics metrics,
            Materializer materializer, Scheduler scheduler, ExecutionContextExecutor executor, AdmissionControl admission) {
        this.admission = admission;
        List<Served> s = new ArrayList<>();
        for (GenerationBackend b : backends) {
            s.add(new Served(b, b.model(), new RequestPreparer(b.model(), settings.limits())));
        }
        this.served = List.copyOf(s);
        this.ids = s.stream().map(x -> x.model().id()).toList();
        this.settings = settings;
        this.metrics = metrics;
        this.materializer = materializer;
        this.scheduler = scheduler;
        this.executor = executor;
    }

    /**
     * Answers one request. Refusals and failures are OpenAI error answers; an unexpected exception
     * (a bug) propagates to the route's exception handler, which answers a generic 500.
     */
    CompletionStage<HttpResponse> handle(Kind kind, byte[] body) {
        return handle(kind, body, "");
    }

    /**
     * Answers one request of the holder of {@code apiKey} ({@code ""} when the API is open): admission
     * control first (per-key limits, the cluster's capacity), then the backend.
     */
    CompletionStage<HttpResponse> handle(Kind kind, byte[] body, String apiKey) {
        return handle(kind, body, apiKey, null);
    }

    /**
     * As {@link #handle(Kind, byte[], String)}, for the session named by the {@code X-Session-Id} header
     * ({@code sessionHeader}, null when absent; it wins over the body's {@code user}).
     */
    CompletionStage<HttpResponse> handle(Kind kind, byte[] body, String apiKey, String sessionHeader) {
        long arrivalNanos = System.nanoTime();
        long created = System.currentTimeMillis() / 1000;
        Endpoint endpoint = kind == Kind.CHAT ? Endpoint.CHAT_COMPLETIONS : Endpoint.COMPLETIONS;
        CompletionRequest request;
        Served target;
        Prepared prepared;
        try {
            request = RequestParser.parse(body, kind, settings.limits());
            if (sessionHeader != null && !sessionHeader.isEmpty()) {
                if (sessionHeader.length() > RequestParser.MAX_SESSION_CHARS) {
                    throw ApiException.invalid(null, "the X-Session-Id header must be at most "
                            + RequestParser.MAX_SESSION_CHARS + " characters, got " + sessionHeader.length());
                }
                request = request.withSession(sessionHeader);
            }
            target = select(request.model());
            prepared = target.preparer().prepare(request);
        } catch (ApiException e) {
            return error(endpoint, e.error());
        }
        GenerationBackend backend = target.backend();
        ModelCard model = target.model();

        // one admission control for the router: with several models it weighs the requests in flight against the KV
        // of every model's nodes; whether this model's nodes have room is the backend's answer (503 when not)
        AdmissionControl.Decision decision = admission.admit(apiKey, prepared.promptTokens().length,
                prepared.params().maxTokens(), kvCapacityPositions());
        if (decision instanceof AdmissionControl.Refused r) {
            return error(endpoint, r.reason().status == 429 ? ApiError.rateLimited(r.message(), r.retryAfterSeconds())
                    : ApiError.overloaded(r.message(), r.retryAfterSeconds()));
        }
        AdmissionControl.Ticket ticket = ((AdmissionControl.Admitted) decision).ticket();

        RequestId id = new RequestId(ThreadLocalRandom.current().nextLong());
        Pair<Pair<BoundedSourceQueue<Event>, CompletionStage<Done>>, Source<Event, NotUsed>> stream =
                Source.<Event>queue(settings.maxStreamBuffer() + 2).watchTermination(Pair::create)
                        .preMaterialize(materializer);
        GenerationRun run = new GenerationRun(id, endpoint, backend, metrics, stream.first().first(),
                settings.maxStreamBuffer(), arrivalNanos, settings.requestTimeout().toMillis(),
                settings.retryAfterSeconds());
        stream.first().second().whenComplete((done, cause) -> {
            run.streamClosed();
            ticket.ended(-1); // the answer is over, whichever way (the backend's end usually came first)
        });

        SubmitResult result;
        try {
            result = backend.submit(id, prepared.promptTokens(), prepared.params(), request.cacheSalt(),
                    request.session(), new Admitted(run, ticket));
        } catch (RuntimeException e) {
            LOG.warn("the backend threw on submit of {}", id, e);
            ticket.ended(-1);
            notAccepted(run, stream.second());
            return error(endpoint, ApiError.internal());
        }
        ApiError refused = switch (result) {
            case SubmitResult.Accepted a -> null;
            case SubmitResult.Overloaded o -> ApiError.overloaded(o.reason(), settings.retryAfterSeconds());
            case SubmitResult.Unavailable u -> ApiError.unavailable(u.reason(), settings.retryAfterSeconds());
            case SubmitResult.Rejected r -> ApiError.invalid(null, r.message());
        };
        if (refused != null) {
            ticket.ended(-1);
            notAccepted(run, stream.second());
            return error(endpoint, refused);
        }
        long leftNanos = settings.requestTimeout().toNanos() - (System.nanoTime() - arrivalNanos);
        run.deadline(scheduler.scheduleOnce(Duration.ofNanos(Math.max(1, leftNanos)), run::timeout, executor));

        AnswerWriter writer = new AnswerWriter(kind, OpenAiJson.answerId(kind, id.value()), created, model.id(),
                request.includeUsage(), prepared.params().logprobs().isPresent() ? model.tokenizer() : null);
        Source<Event, NotUsed> events = stream.second();
        if (request.stream()) {
            return CompletableFuture.completedFuture(HttpAnswers.eventStream(writer.frames(events)));
        }
        return events.runWith(Sink.fold(new AnswerWriter.Collected(), AnswerWriter.Collected::add), materializer)
                .handle((collected, failure) -> {
                    if (failure != null) {
                        LOG.warn("the answer stream of {} failed", id, failure);
                        return errorAnswer(endpoint, ApiError.internal());
                    }
                    return writer.whole(collected);
                });
    }

    /**
     * The backend's listener of an admitted request: tells the admission ticket when the prompt is computed
     * (first token) and when the request ends, then the run.
     */
    private record Admitted(GenerationRun run, AdmissionControl.Ticket ticket) implements BackendListener {

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {
            run.onPrefilled(promptTokens, cachedTokens);
        }

        @Override
        public void onToken(int tokenId, String text) {
            ticket.prefilled();
            run.onToken(tokenId, text);
        }

        @Override
        public void onToken(int tokenId, String text, dev.baton.common.protocol.GenerationEvent.Logprob logprob) {
            ticket.prefilled();
            run.onToken(tokenId, text, logprob);
        }

        @Override
        public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
            ticket.prefilled();
            ticket.ended(completionTokens);
            run.onFinished(reason, text, promptTokens, completionTokens);
        }

        @Override
        public void onFailed(String reason) {
            ticket.ended(-1);
            run.onFailed(reason);
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            ticket.ended(-1);
            run.onFailed(reason, retryable);
        }
    }

    /** The served model {@code requested} names (null: the only one). */
    private Served select(String requested) {
        if (requested == null) {
            if (served.size() == 1) {
                return served.get(0);
            }
            throw new ApiException(ApiError.modelRequired(ids));
        }
        for (Served s : served) {
            if (s.model().id().equals(requested)) {
                return s;
            }
        }
        throw new ApiException(ApiError.modelNotFound(requested, ids));
    }

    /** KV positions of the nodes of every served model. */
    private long kvCapacityPositions() {
        long positions = 0;
        for (Served s : served) {
            positions += s.backend().kvCapacityPositions();
        }
        return positions;
    }

    /** Ends a run the backend did not take, and drains its (empty) stream so nothing waits for a reader. */
    private void notAccepted(GenerationRun run, Source<Event, NotUsed> events) {
        run.notAccepted();
        events.runWith(Sink.ignore(), materializer);
    }

    private CompletionStage<HttpResponse> error(Endpoint endpoint, ApiError error) {
        return CompletableFuture.completedFuture(errorAnswer(endpoint, error));
    }

    private HttpResponse errorAnswer(Endpoint endpoint, ApiError error) {
        metrics.error(endpoint, error);
        return HttpAnswers.error(error);
    }
}
