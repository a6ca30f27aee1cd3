package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.cli.planner.ConnectorContext;
import dev.baton.cli.planner.Connectors;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.planner.CapacityModel;
import dev.baton.planner.CapacityProfile;
import dev.baton.planner.Mode;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.PlannerSettings;
import dev.baton.router.api.ModelCard;
import dev.baton.router.api.RouterHttpServer;
import dev.baton.router.api.RouterSettings;
import dev.baton.router.cluster.ClusterBackend;
import dev.baton.router.cluster.ClusterDispatcher;
import dev.baton.router.planner.PlannerService;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import com.typesafe.config.ConfigValueFactory;
import dev.baton.common.ModelFingerprint;
import dev.baton.common.cluster.JoinCompatChecker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton router}: the OpenAI-compatible HTTP API in front of the cluster. It reads the
 * model file only for its tokenizer and chat template; the nodes run the model.
 *
 * <p>Several models: {@code --model} once per model. Each is served under its file name (without {@code .gguf})
 * by the nodes started with that file (the router matches them by the file's fingerprint, which their load
 * reports carry); the cluster's join check is set to {@code by-name} so that nodes of each model may join.
 */
@Command(name = "router", mixinStandardHelpOptions = true, description = "Run the router (HTTP API) of a cluster.")
final class RouterCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(RouterCommand.class);

    @Mixin
    EngineOptions engineOptions = new EngineOptions();

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Mixin
    ManagementOptions management = new ManagementOptions();

    @Option(names = "--port", paramLabel = "P", description = "HTTP port (default: baton.router.port, 8000)")
    Integer port;

    @Option(names = "--http-host", paramLabel = "ADDR",
            description = "address the HTTP API binds to, e.g. 0.0.0.0 (default: baton.router.host, 127.0.0.1); "
                    + "--host is the address other cluster nodes reach the router at")
    String httpHost;

    @Option(names = "--tls-cert", paramLabel = "PEM",
            description = "serve the API over HTTPS with this certificate (baton.router.tls); with --tls-key")
    java.nio.file.Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "the private key of --tls-cert")
    java.nio.file.Path tlsKey;

    @Override
    public Integer call() throws Exception {
        List<Path> modelFiles = engineOptions.models.size() > 1 ? List.copyOf(engineOptions.models)
                : List.of(engineOptions.settings().model());
        Config config = management.apply(cluster.apply(BatonConfig.load(engineOptions.config), "router"));
        boolean several = modelFiles.size() > 1;
        if (several) {
            // nodes of each model must be let in: the check compares nodes of the same model name only
            config = config.withValue(JoinCompatChecker.MODELS_PATH, ConfigValueFactory.fromAnyRef("by-name"));
        }
        if (port != null) {
            config = ConfigFactory.parseString("baton.router.port = " + port).withFallback(config);
        }
        if (httpHost != null) {
            config = config.withValue("baton.router.host", com.typesafe.config.ConfigValueFactory.fromAnyRef(httpHost));
        }
        if (tlsCert != null || tlsKey != null) {
            config = config.withValue("baton.router.tls.enabled", com.typesafe.config.ConfigValueFactory.fromAnyRef(true))
                    .withValue("baton.router.tls.certificate", com.typesafe.config.ConfigValueFactory.fromAnyRef(
                            tlsCert == null ? "" : tlsCert.toString()))
                    .withValue("baton.router.tls.private-key", com.typesafe.config.ConfigValueFactory.fromAnyRef(
                            tlsKey == null ? "" : tlsKey.toString()))
                    .withValue("baton.router.tls.keystore", com.typesafe.config.ConfigValueFactory.fromAnyRef(""));
        }
        RouterSettings settings = RouterSettings.from(config.resolve());
        if (settings.tls().enabled()) {
            settings.tls().keyMaterial(); // a file that cannot be used stops the router here, before the cluster sees it
        }
        dev.baton.router.admission.AdmissionSettings admission =
                dev.baton.router.admission.AdmissionSettings.from(config.resolve());
        // Read before anything starts: a bad baton.planner key stops the router here, named.
        PlannerSettings plannerSettings = PlannerSettings.from(config.resolve());
        CapacityModel capacity = plannerSettings.mode() == Mode.OFF ? null
                : new CapacityModel(CapacityProfile.read(plannerSettings.profile()));
        if (several && plannerSettings.mode() == Mode.ACT) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "baton.planner.mode = act"
                    + " scales the pools of one model; it cannot be used with several --model");
        }
        List<ModelCard> cards = new ArrayList<>();
        List<String> fingerprints = new ArrayList<>();
        long created = System.currentTimeMillis() / 1000;
        for (Path file : modelFiles) {
            String id = file.getFileName().toString().replaceFirst("\\.gguf$", "");
            for (ModelCard c : cards) {
                if (c.id().equals(id)) {
                    throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "two --model files are"
                            + " named " + id + ".gguf: each model is served under its file name, so the names must differ");
                }
            }
            try (GgufFile gguf = GgufFile.open(file)) {
                cards.add(ModelCard.fromGguf(id, gguf.metadata(), created));
            }
            // with one model every node serves it; with several the nodes are told apart by the file's fingerprint
            fingerprints.add(several ? ModelFingerprint.of(file).toString() : null);
        }
        String modelId = String.join(", ", cards.stream().map(ModelCard::id).toList());
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "baton", config);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ClusterDispatcher dispatcher = new ClusterDispatcher(system,
                dev.baton.router.cluster.RoutingSettings.from(config), registry);
        List<dev.baton.router.api.GenerationBackend> backends = new ArrayList<>();
        for (int i = 0; i < cards.size(); i++) {
            backends.add(new ClusterBackend(dispatcher, cards.get(i), fingerprints.get(i)));
        }
        // ready as the API's /ready is: when every served model can serve (with one model: when the cluster can)
        Management.start(system, () -> backends.stream().allMatch(b -> b.readiness().ready()));
        PlannerService planner = null;
        RouterHttpServer.Hooks hooks = RouterHttpServer.Hooks.NONE;
        if (capacity != null) {
            NodeConnector connector = plannerSettings.mode() == Mode.ACT ? connector(plannerSettings, config) : null;
            planner = new PlannerService(plannerSettings, capacity, dispatcher::nodes, dispatcher::drain, connector, registry)
                    .start(dispatcher::ready);
            hooks = new RouterHttpServer.Hooks(planner.observer(), planner::view);
        }
        RouterHttpServer.Binding binding = RouterHttpServer.start(system, settings, admission,
                backends, registry, hooks).toCompletableFuture().get(30, TimeUnit.SECONDS);
        LOG.info("router up: model {} on {}://{}:{}/v1", modelId, settings.tls().enabled() ? "https" : "http",
                settings.host(), binding.port());
        CountDownLatch stopped = new CountDownLatch(1);
        system.getWhenTerminated().whenComplete((d, e) -> stopped.countDown());
        PlannerService plannerToStop = planner;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (plannerToStop != null) {
                plannerToStop.close(); // first: a stopping cluster must not look like a pool to grow
            }
            binding.close();
            system.terminate();
            try {
                stopped.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }));
        stopped.await();
        if (planner != null) {
            planner.close();
        }
        return 0;
    }

    /** The connector the planner acts through in {@code act} mode: nodes it starts join as this router did. */
    private NodeConnector connector(PlannerSettings s, Config config) {
        ConnectorContext ctx = new ConnectorContext(cluster.seeds == null ? java.util.List.of() : cluster.seeds, cluster.host,
                engineOptions.model(), engineOptions.config, engineOptions.threads,
                java.nio.file.Path.of(System.getProperty("baton.home", ".")));
        return Connectors.create(s, config, ctx);
    }
}
