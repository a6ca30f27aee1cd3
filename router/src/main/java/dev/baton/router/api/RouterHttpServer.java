package dev.baton.router.api;

import dev.baton.router.admission.AdmissionControl;
import dev.baton.router.admission.AdmissionSettings;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.DurationConverters;

/**
 * Starts the router's OpenAI-compatible HTTP API (docs/design.md §7) on a caller's typed actor system, as
 * HTTPS when {@code baton.router.tls} is on (the key and certificate are read and checked at start).
 *
 * <p>How the cli starts it:
 * <pre>{@code
 * ActorSystem<?> system = ...;                                   // the node's actor system
 * RouterSettings settings = RouterSettings.from(config);         // baton.router
 * PrometheusMeterRegistry registry = ...;                        // shared by the whole process
 * GenerationBackend backend = ...;                               // the cluster client
 * RouterHttpServer.Binding binding = RouterHttpServer.start(system, settings, backend, registry)
 *         .toCompletableFuture().join();                         // fails if the port is taken
 * log.info("listening on {}", binding.port());
 * ...
 * binding.stop();   // or let the actor system's coordinated shutdown unbind it
 * }</pre>
 *
 * <p>Threading: {@code start} may be called from any thread and does not block; the routes run on
 * the system's default dispatcher.
 *
 * <p>Ownership: the server owns nothing it is given. The actor system, backend and registry stay the
 * caller's; stopping the binding is a task of the system's coordinated shutdown (phase
 * service-unbind), so terminating the system unbinds gracefully too.
 */
public final class RouterHttpServer {

    private static final Logger LOG = LoggerFactory.getLogger(RouterHttpServer.class);

    /** Slack past our own request timeout before Pekko's connection timeouts may close a connection. */
    private static final Duration PEKKO_TIMEOUT_SLACK = Duration.ofSeconds(30);

    private RouterHttpServer() {}

    /**
     * Binds the API to {@code settings.host():settings.port()}.
     *
     * @param system   the actor system whose dispatcher runs the routes and streams
     * @param settings validated settings
     * @param backend  what runs requests; its {@link GenerationBackend#model()} is read once, here
     * @param registry where the API's meters go; {@code GET /metrics} serves all of it. One router API
     *                 per registry: its in-flight gauge is registered once
     * @return the binding once the port is bound; failed if it cannot be bound
     * @throws dev.baton.router.tls.TlsConfigException when HTTPS is on and its key or certificate cannot be used
     *                                                 (naming the file and what is wrong), before anything binds
     */
    public static CompletionStage<Binding> start(ActorSystem<?> system, RouterSettings settings, GenerationBackend backend,
            PrometheusMeterRegistry registry) {
        return start(system, settings, backend, registry, Hooks.NONE);
    }

    /**
     * What else the API serves and tells: an observer of every request (the SLO planner's meters) and the
     * planner's last decision ({@code GET /v1/planner}).
     *
     * @param observer sees every request the backend takes
     * @param planner  the body of {@code GET /v1/planner}; null when no planner runs (404)
     */
    public record Hooks(RequestObserver observer, java.util.function.Supplier<com.fasterxml.jackson.databind.JsonNode> planner) {
        public static final Hooks NONE = new Hooks(RequestObserver.NONE, null);
    }

    /** {@link #start(ActorSystem, RouterSettings, GenerationBackend, PrometheusMeterRegistry)} with {@code hooks}. */
    public static CompletionStage<Binding> start(ActorSystem<?> system, RouterSettings settings, GenerationBackend backend,
            PrometheusMeterRegistry registry, Hooks hooks) {
        return start(system, settings, AdmissionSettings.defaults(), backend, registry, hooks);
    }

    /**
     * {@link #start(ActorSystem, RouterSettings, GenerationBackend, PrometheusMeterRegistry, Hooks)} with the
     * admission control's settings ({@code baton.router.admission}).
     */
    public static CompletionStage<Binding> start(ActorSystem<?> system, RouterSettings settings,
            AdmissionSettings admissionSettings, GenerationBackend backend, PrometheusMeterRegistry registry, Hooks hooks) {
        return start(system, settings, admissionSettings, java.util.List.of(backend), registry, hooks);
    }

    /**
     * {@link #start(ActorSystem, RouterSettings, AdmissionSettings, GenerationBackend, PrometheusMeterRegistry, Hooks)}
     * for several models: one backend per model, each {@link GenerationBackend#model()} of its own id. A request goes
     * to the backend its {@code model} names (404 for another; 400 without one when there are several);
     * {@code GET /v1/models} lists them all in this order; {@code GET /ready} is 200 when every one is ready.
     *
     * @throws IllegalArgumentException when {@code backends} is empty or two serve the same model id
     */
    public static CompletionStage<Binding> start(ActorSystem<?> system, RouterSettings settings,
            AdmissionSettings admissionSettings, java.util.List<GenerationBackend> backends, PrometheusMeterRegistry registry,
            Hooks hooks) {
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("no model to serve");
        }
        java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        for (GenerationBackend b : backends) {
            if (!ids.add(b.model().id())) {
                throw new IllegalArgumentException("two models are served as '" + b.model().id()
                        + "': each needs its own id (file name)");
            }
        }
        settings.validate();
        // Read first: a key or certificate that cannot be used stops the start here, named, with nothing bound.
        HttpsConnectionContext https = settings.tls().enabled()
                ? ConnectionContext.httpsServer(settings.tls().keyMaterial().sslContext(null)) : null;
        String modelTag = String.join(",", ids);
        ApiMetrics metrics = new ApiMetrics(registry, modelTag, hooks.observer());
        Materializer materializer = Materializer.matFromSystem(system);
        AdmissionControl admission = new AdmissionControl(admissionSettings, settings.retryAfterSeconds(), System::nanoTime,
                registry);
        CompletionEndpoint completions = new CompletionEndpoint(backends, settings, metrics, materializer,
                system.scheduler(), system.executionContext(), admission);
        ApiRoutes routes = new ApiRoutes(settings, backends, metrics, registry, completions, hooks.planner());
        ServerBuilder server = Http.get(system).newServerAt(settings.host(), settings.port())
                .withSettings(serverSettings(system, settings, admissionSettings));
        if (https != null) {
            server = server.enableHttps(https);
        }
        String scheme = https != null ? "https" : "http";
        return server.bind(routes.route())
                .thenApply(b -> {
                    Binding binding = new Binding(b, settings.shutdownTimeout());
                    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(),
                            "baton-router-http-" + b.localAddress().getPort(), binding::stop);
                    LOG.info("router API serving model {} on {}://{}:{}", modelTag, scheme,
                            b.localAddress().getHostString(), b.localAddress().getPort());
                    return binding;
                });
    }

    /**
     * Pekko's server settings with room for our request timeout: its request timeout would answer a
     * long non-streaming completion with its own 503, and its idle timeout would close the
     * connection of a request waiting in a queue, so both are set past ours (which answers first).
     * Connections are bounded ({@code max-connections}, the listen {@code backlog}) and each carries one
     * request at a time (no pipelining), so the router's memory is bounded by connections times the
     * largest body plus the bounded stream buffers.
     */
    private static ServerSettings serverSettings(ActorSystem<?> system, RouterSettings settings,
            AdmissionSettings admission) {
        ServerSettings base = ServerSettings.create(system.classicSystem());
        Duration past = settings.requestTimeout().plus(PEKKO_TIMEOUT_SLACK);
        ServerSettings.Timeouts timeouts = base.getTimeouts().withRequestTimeout(DurationConverters.toScala(past));
        scala.concurrent.duration.Duration idle = timeouts.idleTimeout();
        if (idle.isFinite() && idle.toMillis() < past.toMillis()) {
            timeouts = timeouts.withIdleTimeout(DurationConverters.toScala(past));
        }
        return base.withTimeouts(timeouts)
                .withMaxConnections(admission.maxConnections())
                .withBacklog(admission.backlog())
                .withPipeliningLimit(1)
                .withParserSettings(base.getParserSettings().withMaxContentLength(settings.maxRequestBytes())
                        .withMaxHeaderValueLength(settings.maxHeaderBytes())
                        .withMaxHeaderCount(settings.maxHeaders())
                        .withMaxUriLength(settings.maxUriBytes()))
                .withParsingErrorHandler(OpenAiParsingErrorHandler.class.getName());
    }

    /**
     * A bound server. Thread-safe; {@link #stop()} may be called more than once.
     */
    public static final class Binding implements AutoCloseable {
        private final ServerBinding binding;
        private final Duration shutdownTimeout;
        private CompletionStage<Done> stopped; // guarded by this

        private Binding(ServerBinding binding, Duration shutdownTimeout) {
            this.binding = binding;
            this.shutdownTimeout = shutdownTimeout;
        }

        /** The bound port (the real one when the settings asked for port 0). */
        public int port() {
            return binding.localAddress().getPort();
        }

        public InetSocketAddress address() {
            return binding.localAddress();
        }

        /**
         * Stops accepting connections, lets requests in flight finish for up to the shutdown timeout,
         * then closes what is left (their requests are cancelled in the backend as their streams end).
         */
        public synchronized CompletionStage<Done> stop() {
            if (stopped == null) {
                int port = port();
                stopped = binding.terminate(shutdownTimeout).thenApply(t -> {
                    LOG.info("router API on port {} stopped", port);
                    return Done.getInstance();
                });
            }
            return stopped;
        }

        /** {@link #stop()}, waiting for it. */
        @Override
        public void close() {
            stop().toCompletableFuture().join();
        }
    }
}
