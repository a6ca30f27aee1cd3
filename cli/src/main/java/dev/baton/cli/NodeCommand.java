package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.common.cluster.JoinCompatChecker;
import dev.baton.common.cluster.JoinRefusal;
import dev.baton.common.cluster.JoinRefusals;
import dev.baton.common.cluster.PeerCompatibility;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.common.protocol.KvEvents;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.engine.sched.LoopSettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Mixin;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * What the node commands ({@code worker}, {@code prefill}, {@code decode}) share: open the engine,
 * warm it up ({@link NodeWarmUp}), start its loop and metrics, put the host tier under the loop's prefix
 * cache ({@link HostKvTier}: when it is enabled and usable, else the node runs without it), join the cluster
 * with the node's actor, and on shutdown (SIGTERM, {@code bin/baton down}, {@code bin/baton drain}) drain ({@link Drain}: finish the
 * requests it has), leave the cluster, stop the loop, close the host tier, the role's resources and the engine.
 */
abstract class NodeCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(NodeCommand.class);

    @Mixin
    EngineOptions engineOptions = new EngineOptions();

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Mixin
    ManagementOptions management = new ManagementOptions();

    @Option(names = "--metrics-port", paramLabel = "P", defaultValue = "-1",
            description = "serve Prometheus metrics on this port (0: any free port; default: none)")
    int metricsPort;

    @Option(names = "--draft-model", paramLabel = "PATH", description = "speculative decoding with drafts from this "
            + "smaller GGUF with the model's vocabulary (decode and worker nodes; sets "
            + "baton.engine.speculation.mode = draft-model)")
    Path draftModel;

    /** What a role adds to the engine loop: its actor and the resources to close after the loop stops. */
    record Role(Behavior<NodeProtocol.Command> behavior, AutoCloseable resources, String summary) {}

    /** The role name: the cluster role, the metrics tag and the default node-id prefix. */
    abstract String role();

    /** The loop's settings for this role, from the configuration ({@code baton.engine.stuck-after}, the role's keys). */
    LoopSettings loopSettings(Config config) {
        int requests = config.getInt("baton.node.queue.max-waiting-requests");
        long tokens = config.getLong("baton.node.queue.max-waiting-prompt-tokens");
        if (requests < 1 || requests > 1_000_000) {
            throw new com.typesafe.config.ConfigException.BadValue("baton.node.queue.max-waiting-requests",
                    requests + " is out of range (1..1000000)");
        }
        if (tokens < 1) {
            throw new com.typesafe.config.ConfigException.BadValue("baton.node.queue.max-waiting-prompt-tokens",
                    tokens + " is out of range (>= 1)");
        }
        LoopSettings s = LoopSettings.from(config).withQueueBounds(requests, tokens);
        if ("prefill".equals(role())) { // a prefill node computes prompts and never decodes: nothing to draft
            if (draftModel != null) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--draft-model: a prefill node does not decode; give it to the decode (or worker) nodes");
            }
            return s.withSpeculation(dev.baton.engine.spec.SpeculationSettings.off());
        }
        return draftModel == null ? s : s.withSpeculation(s.speculation().withDraftModel(draftModel));
    }

    /**
     * Where the engine's KV pool lives: null (the default) allocates it off-heap in the engine; a role
     * may give memory it shares (closed by {@link #closeAfterEngine()}).
     */
    java.util.function.LongFunction<java.lang.foreign.MemorySegment> poolMemory(Config config) {
        return null;
    }

    /** Releases what {@link #poolMemory} handed out, once the engine is closed. */
    void closeAfterEngine() {
    }

    /** Builds the role around a started engine loop. */
    abstract Role start(NodeId id, Engine engine, EngineLoop loop, KvEventFeed kvEvents, Config config,
            MeterRegistry registry) throws Exception;

    @Override
    public final Integer call() throws Exception {
        EngineSettings settings = engineOptions.settings();
        Config config = management.apply(Drain.configure(cluster.apply(BatonConfig.load(engineOptions.config), role())));
        NodeId id = new NodeId(cluster.nodeId(config, role()));
        JoinCompatChecker.models(config); // a bad baton.cluster.join-check.models stops the node here, named
        NodeWarmUp warmUp = NodeWarmUp.from(config);
        Engine engine;
        try {
            engine = Engine.open(settings, poolMemory(config));
        } catch (IOException | RuntimeException e) {
            closeAfterEngine();
            throw e;
        }
        if (warmUp.enabled()) {
            try {
                NodeWarmUp.Outcome w = warmUp.run(engine);
                LOG.info("{} {} warmed up: {} prompt and {} decode tokens in {} ms", role(), id.value(),
                        w.promptTokens(), w.decodeTokens(), w.nanos() / 1_000_000);
            } catch (RuntimeException | Error e) {
                engine.close();
                closeAfterEngine();
                throw e;
            }
        }
        NodeHealth health = new NodeHealth();
        String bindAddress = ClusterOptions.bindAddress(config);
        NodeMetricsServer metrics = metricsPort >= 0 ? new NodeMetricsServer(bindAddress, metricsPort, health) : null;
        MeterRegistry registry = metrics == null ? new SimpleMeterRegistry() : metrics.registry;
        Tags tags = Tags.of("role", role(), "node", id.value(), "model", engine.config().name());
        LoopSettings loopSettings;
        EngineLoop loop;
        try {
            loopSettings = loopSettings(config);
            loop = new EngineLoop(engine, loopSettings, "engine-loop", registry, tags); // opens a draft model
        } catch (RuntimeException e) {
            engine.close();
            closeAfterEngine();
            throw e;
        }
        health.watch(loop::stuckMillis); // a loop that stops moving with work makes the node unready
        HostKvTier tier = HostKvTier.open(config, engine, registry, tags);
        if (tier != null) {
            loop.useTier(tier);
        }
        Role node;
        try {
            KvEventFeed kvEvents = KvEventFeed.start(loop, engine.pool(),
                    new KvEvents.Log(id, java.util.concurrent.ThreadLocalRandom.current().nextLong()));
            io.micrometer.core.instrument.FunctionCounter.builder("baton.kv.events.published", kvEvents,
                    KvEventFeed::published).tags(Tags.of("role", role(), "node", id.value())).register(registry);
            node = start(id, engine, loop, kvEvents, config, registry);
        } catch (Exception | Error e) {
            loop.close();
            if (tier != null) {
                tier.close();
            }
            engine.close();
            closeAfterEngine();
            if (metrics != null) {
                metrics.close();
            }
            throw e;
        }
        if (metrics != null) {
            LOG.info("{} {} metrics on http://{}:{}/metrics (health: /alive, /ready)", role(), id.value(), bindAddress,
                    metrics.port());
        }
        java.util.concurrent.CompletableFuture<ActorRef<NodeProtocol.Command>> nodeRef = new java.util.concurrent.CompletableFuture<>();
        // what the cluster checks when this node joins: a node that does not match its engine nodes is refused
        Config joining = PeerCompatibility.of(engine.config().name(), engine.compatibility()).addTo(config,
                selfAddress(config));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
            nodeRef.complete(ctx.spawn(node.behavior(), role()));
            return Behaviors.empty();
        }), "baton", joining);
        JoinRefusals refusals = JoinRefusals.start(system, role() + " " + id.value());
        Drain.install(system, nodeRef, health, id);
        Management.start(system, health::ready);
        LOG.info("{} {} up: model {} ({}) on {}, {} KV blocks of {} positions, host tier {}, speculation {}{}", role(),
                id.value(), engine.config().name(), settings.model(), engine.forward().describe(), engine.pool().blockCount(),
                engine.pool().spec().blockSize(), tier == null ? "none" : tier.describe(),
                loopSettings.speculation().describe(), node.summary());
        CountDownLatch stopped = new CountDownLatch(1);
        system.getWhenTerminated().whenComplete((d, e) -> stopped.countDown());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            system.terminate(); // runs the coordinated shutdown (drain, leave) unless SIGTERM's hook already did
            try {
                stopped.await();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            health.stopped();
            loop.close();
            if (tier != null) {
                tier.close();
            }
            try {
                node.resources().close();
            } catch (Exception e) {
                LOG.warn("closing the {} resources failed: {}", role(), e.toString());
            }
            engine.close();
            closeAfterEngine();
            if (metrics != null) {
                metrics.close();
            }
        }));
        stopped.await();
        if (CoordinatedShutdown.get(system).getShutdownReason()
                .filter(CoordinatedShutdown.incompatibleConfigurationDetectedReason()::equals).isPresent()) {
            JoinRefusal why = refusals.reason();
            throw new JoinRefusedException(role() + " " + id.value() + " was refused by the cluster at join"
                    + (why == null ? ": its model or KV settings do not match the cluster's engine nodes (the log of the "
                    + "member it joined names the difference)" : " (by " + why.by() + "): " + why.reason()));
        }
        return 0;
    }

    /**
     * Where this node's actor system is reached ({@code pekko://baton@host:port}), for a member that refuses it at
     * join to tell it why; null when the port is chosen at start (0).
     */
    static String selfAddress(Config config) {
        int port = config.getInt("pekko.remote.artery.canonical.port");
        if (port == 0) {
            return null;
        }
        String host = ClusterOptions.advertised(config);
        return "pekko://baton@" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    /** This node was refused at join: the process exits with an error that says why. */
    static final class JoinRefusedException extends RuntimeException {
        JoinRefusedException(String message) {
            super(message);
        }
    }
}
