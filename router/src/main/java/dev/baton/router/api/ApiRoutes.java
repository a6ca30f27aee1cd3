package dev.baton.router.api;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.OpenAiJson;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route tree of the API (docs/design.md §7):
 *
 * <pre>
 * POST /v1/completions        key   CompletionEndpoint
 * POST /v1/chat/completions   key   CompletionEndpoint
 * GET  /v1/models             key   the served models
 * GET  /v1/cluster            admin the backend's cluster view
 * POST /v1/cluster/nodes/{id}/drain  admin drain a serving node (202; 404 for an unknown id)
 * GET  /v1/planner            admin the SLO planner's last decision (404 when the planner is off)
 * GET  /health                      200 while the process serves HTTP
 * GET  /ready                       200 when every served model's backend can serve, else 503 with the reasons
 * GET  /metrics                     Prometheus text of the shared registry
 * </pre>
 *
 * "key": a bearer key (an API or an admin key) is needed when API keys are configured. "admin": when admin
 * keys are configured, only an admin key (401 without a valid key, 403 with an API key); else as "key". Every answer is counted by endpoint and
 * status; unknown paths, wrong methods, oversized bodies and unexpected exceptions all become OpenAI
 * error bodies (never a stack trace: those go to the log).
 *
 * <p>Threading: built once; routes run on the HTTP server's dispatcher threads.
 */
final class ApiRoutes extends AllDirectives {

    private static final Logger LOG = LoggerFactory.getLogger(ApiRoutes.class);

    /** The header naming a request's session (sticky sessions); it wins over the body's {@code user}. */
    static final String SESSION_HEADER = "X-Session-Id";

    private final RouterSettings settings;
    private final List<GenerationBackend> backends;
    private final ApiMetrics metrics;
    private final PrometheusMeterRegistry registry;
    private final CompletionEndpoint completions;
    private final List<byte[]> apiKeys;
    private final List<byte[]> adminKeys;
    private final byte[] modelsBody;

    private final java.util.function.Supplier<JsonNode> planner;

    ApiRoutes(RouterSettings settings, GenerationBackend backend, ModelCard model, ApiMetrics metrics,
            PrometheusMeterRegistry registry, CompletionEndpoint completions) {
        this(settings, backend, model, metrics, registry, completions, null);
    }

    /** @param planner the body of GET /v1/planner; null when no planner runs */
    ApiRoutes(RouterSettings settings, GenerationBackend backend, ModelCard model, ApiMetrics metrics,
            PrometheusMeterRegistry registry, CompletionEndpoint completions, java.util.function.Supplier<JsonNode> planner) {
        this(settings, List.of(backend), metrics, registry, completions, planner);
    }

    /** The routes of a router that serves the models of {@code backends} (one backend per model). */
    ApiRoutes(RouterSettings settings, List<GenerationBackend> backends, ApiMetrics metrics,
            PrometheusMeterRegistry registry, CompletionEndpoint completions, java.util.function.Supplier<JsonNode> planner) {
        this.planner = planner;
        this.settings = settings;
        this.backends = List.copyOf(backends);
        this.metrics = metrics;
        this.registry = registry;
        this.completions = completions;
        this.apiKeys = settings.apiKeys().stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.adminKeys = settings.adminKeys().stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.modelsBody = OpenAiJson.models(this.backends.stream().map(b -> new OpenAiJson.ModelEntry(b.model().id(),
                b.model().createdEpochSeconds(), b.model().contextLength())).toList());
    }

    Route route() {
        return extractRequest(request -> {
            Endpoint endpoint = Endpoint.of(request.getUri().path());
            return mapResponse(response -> {
                metrics.answered(endpoint, response.status().intValue());
                return response;
            }, () -> handleExceptions(exceptions(endpoint), () -> handleRejections(rejections(endpoint, request),
                    () -> endpoints(endpoint))));
        });
    }

    private Route endpoints(Endpoint endpoint) {
        return concat(
                path(segment("v1").slash("completions"), () -> post(() -> withKeyOf(endpoint, key -> generate(endpoint, Kind.COMPLETION, key)))),
                path(segment("v1").slash("chat").slash("completions"), () -> post(() -> withKeyOf(endpoint, key -> generate(endpoint, Kind.CHAT, key)))),
                path(segment("v1").slash("models"), () -> get(() -> withKey(endpoint, () -> complete(HttpAnswers.json(200, modelsBody))))),
                path(segment("v1").slash("cluster").slash("nodes").slash(segment()).slash("drain"), nodeId -> post(
                        () -> withAdminKey(endpoint, () -> drain(nodeId)))),
                path(segment("v1").slash("planner"), () -> get(() -> withAdminKey(endpoint, this::planner))),
                path(segment("v1").slash("cluster"), () -> get(() -> withAdminKey(endpoint,
                        () -> complete(HttpAnswers.json(200, OpenAiJson.bytes(clusterView())))))),
                path("health", () -> get(() -> complete(HttpAnswers.json(200, status("ok", null))))),
                path("ready", () -> get(this::ready)),
                path("metrics", () -> get(() -> complete(HttpAnswers.text(200, HttpAnswers.PROMETHEUS_TEXT, registry.scrape())))));
    }

    /** {@code key}: the accepted API key, the per-key limits' subject ({@code ""} when the API is open). */
    private Route generate(Endpoint endpoint, Kind kind, String key) {
        long timeoutMillis = settings.bodyTimeout().toMillis();
        long maxBytes = settings.maxRequestBytes();
        return optionalHeaderValueByName(SESSION_HEADER, session -> extractRequestEntity(entity -> entity
                .getContentLengthOption().orElse(0) > maxBytes
                ? complete(HttpAnswers.error(counted(endpoint, ApiError.requestTooLarge(maxBytes))))
                : extractMaterializer(mat -> completeWithFuture(entity.toStrict(timeoutMillis, maxBytes, mat)
                        .handle((strict, failure) -> failure == null
                                ? completions.handle(kind, strict.getData().toArray(), key, session.orElse(null))
                                : java.util.concurrent.CompletableFuture.completedFuture(
                                        unreadableBody(endpoint, failure, timeoutMillis)))
                        .thenCompose(answer -> answer)))));
    }

    /**
     * The answer to a body that could not be read: 408 when it did not arrive within the body timeout (connection
     * closed, as Pekko's own request timeout does: the rest may still be on its way), 413 past the size limit, else
     * 400 (a truncated body, broken chunked encoding).
     */
    private HttpResponse unreadableBody(Endpoint endpoint, Throwable failure, long timeoutMillis) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof java.util.concurrent.TimeoutException) {
            return HttpAnswers.error(counted(endpoint, ApiError.bodyTimeout(timeoutMillis)))
                    .addHeader(org.apache.pekko.http.javadsl.model.headers.Connection.create("close"));
        }
        if (cause instanceof EntityStreamSizeException) {
            return HttpAnswers.error(counted(endpoint, ApiError.requestTooLarge(settings.maxRequestBytes())));
        }
        return HttpAnswers.error(counted(endpoint, ApiError.invalid(null, "the request body cannot be read: "
                + cause.getMessage())));
    }

    private Route planner() {
        if (planner == null) {
            return complete(HttpAnswers.json(404, status("no planner", "the SLO planner is off (baton.planner.mode = off)")));
        }
        return complete(HttpAnswers.json(200, OpenAiJson.bytes(planner.get())));
    }

    private Route drain(String nodeId) {
        boolean known = false;
        for (GenerationBackend b : backends) {
            known = known || b.drain(nodeId, "asked through the router's API"); // the first that knows the node drains it
        }
        if (!known) {
            return complete(HttpAnswers.json(404, status("unknown node", "no serving node \"" + nodeId
                    + "\" is in the cluster (GET /v1/cluster lists them)")));
        }
        ObjectNode body = OpenAiJson.object();
        body.put("node", nodeId);
        body.put("status", "draining");
        return complete(HttpAnswers.json(202, OpenAiJson.bytes(body)));
    }

    private Route ready() {
        List<String> reasons = new java.util.ArrayList<>();
        for (GenerationBackend b : backends) {
            Readiness r = b.readiness();
            if (!r.ready()) {
                reasons.add(backends.size() == 1 ? r.reason() : b.model().id() + ": " + r.reason());
            }
        }
        if (reasons.isEmpty()) {
            return complete(HttpAnswers.json(200, status("ready", null)));
        }
        return complete(HttpAnswers.json(503, status("not ready", String.join("; ", reasons)))
                .addHeader(RetryAfter.create(settings.retryAfterSeconds())));
    }

    /**
     * The cluster view: the backend's; with several models, the first backend's (they share the cluster) with
     * {@code models} (id and readiness of each) in place of {@code model}.
     */
    private JsonNode clusterView() {
        JsonNode first = backends.get(0).clusterView();
        if (backends.size() == 1 || !(first instanceof ObjectNode o)) {
            return first;
        }
        ObjectNode view = o.deepCopy();
        view.remove("model");
        view.put("ready", backends.stream().allMatch(b -> b.readiness().ready()));
        com.fasterxml.jackson.databind.node.ArrayNode models = view.putArray("models");
        for (GenerationBackend b : backends) {
            ObjectNode m = models.addObject();
            m.put("id", b.model().id());
            m.put("ready", b.readiness().ready());
        }
        return view;
    }

    private static byte[] status(String status, String reason) {
        ObjectNode body = OpenAiJson.object();
        body.put("status", status);
        if (reason != null) {
            body.put("reason", reason);
        }
        return OpenAiJson.bytes(body);
    }

    /**
     * Passes requests with an accepted {@code Authorization: Bearer KEY}, an API or an admin key (or all, when
     * no API keys are set).
     */
    private Route withKey(Endpoint endpoint, Supplier<Route> inner) {
        if (apiKeys.isEmpty()) {
            return inner.get();
        }
        return optionalHeaderValueByName("Authorization", header -> matches(header, apiKeys) | matches(header, adminKeys)
                ? inner.get() : complete(HttpAnswers.error(counted(endpoint, ApiError.invalidApiKey()))));
    }

    /**
     * Passes requests of an admin endpoint with an admin key; without admin keys configured, as {@link #withKey}.
     * An API key is refused with 403 (it is valid, but not here), anything else with 401.
     */
    private Route withAdminKey(Endpoint endpoint, Supplier<Route> inner) {
        if (adminKeys.isEmpty()) {
            return withKey(endpoint, inner);
        }
        return optionalHeaderValueByName("Authorization", header -> {
            if (matches(header, adminKeys)) {
                return inner.get();
            }
            ApiError error = matches(header, apiKeys) ? ApiError.adminKeyRequired() : ApiError.invalidApiKey();
            return complete(HttpAnswers.error(counted(endpoint, error)));
        });
    }

    /** {@link #withKey}, telling {@code inner} which key was accepted ({@code ""} when no keys are set). */
    private Route withKeyOf(Endpoint endpoint, java.util.function.Function<String, Route> inner) {
        if (apiKeys.isEmpty()) {
            return inner.apply("");
        }
        return optionalHeaderValueByName("Authorization", header -> matches(header, apiKeys) | matches(header, adminKeys)
                ? inner.apply(header.get().substring(7).strip())
                : complete(HttpAnswers.error(counted(endpoint, ApiError.invalidApiKey()))));
    }

    private static boolean matches(Optional<String> header, List<byte[]> keys) {
        if (header.isEmpty() || !header.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = header.get().substring(7).strip().getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (byte[] key : keys) {
            ok |= MessageDigest.isEqual(key, given); // constant time in the key's content; checks every key
        }
        return ok;
    }

    private RejectionHandler rejections(Endpoint endpoint, HttpRequest request) {
        String method = request.method().value();
        String path = request.getUri().path();
        return RejectionHandler.newBuilder()
                .handleAll(MethodRejection.class, rs -> complete(HttpAnswers.error(counted(endpoint,
                        ApiError.methodNotAllowed(method, path, rs.stream().map(r -> r.supported().value())
                                .distinct().collect(Collectors.joining(", ")))))))
                .handle(MalformedRequestContentRejection.class, r -> complete(HttpAnswers.error(counted(endpoint,
                        r.getCause() instanceof EntityStreamSizeException ? ApiError.requestTooLarge(settings.maxRequestBytes())
                                : ApiError.invalid(null, "the request body cannot be read: " + r.message())))))
                .handleNotFound(complete(HttpAnswers.error(counted(endpoint, ApiError.unknownUrl(method, path)))))
                .build()
                .withFallback(RejectionHandler.defaultHandler())
                .mapRejectionResponse(response -> asOpenAiError(endpoint, response));
    }

    private ExceptionHandler exceptions(Endpoint endpoint) {
        return ExceptionHandler.newBuilder()
                .match(EntityStreamSizeException.class, e -> complete(HttpAnswers.error(counted(endpoint,
                        ApiError.requestTooLarge(settings.maxRequestBytes())))))
                .matchAny(e -> {
                    LOG.warn("unexpected failure answering {}", endpoint.path, e);
                    return complete(HttpAnswers.error(counted(endpoint, ApiError.internal())));
                })
                .build();
    }

    /** Pekko's own rejection answers (plain text) rewritten as OpenAI errors; ours pass unchanged. */
    private HttpResponse asOpenAiError(Endpoint endpoint, HttpResponse response) {
        if (response.entity().getContentType().mediaType().isApplication()) {
            return response;
        }
        int status = response.status().intValue();
        String reason = response.status().reason();
        ApiError error = new ApiError(status, status >= 500 ? ApiError.SERVER : ApiError.INVALID_REQUEST,
                reason.isEmpty() ? "request refused" : reason, null, null, 0);
        return HttpAnswers.error(counted(endpoint, error)).withHeaders(response.getHeaders());
    }

    private ApiError counted(Endpoint endpoint, ApiError error) {
        metrics.error(endpoint, error);
        return error;
    }
}
