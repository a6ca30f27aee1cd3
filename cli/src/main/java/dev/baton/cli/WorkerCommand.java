package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.decode.WorkerNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.LoopSettings;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code bin/baton worker}: a node that runs whole requests (prefill and decode in one loop). */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a worker node (prefill and decode together) that joins the cluster.")
final class WorkerCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerCommand.class);

    @Mixin
    EngineOptions engineOptions = new EngineOptions();

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @picocli.CommandLine.Option(names = "--metrics-port", paramLabel = "P", defaultValue = "-1",
            description = "serve Prometheus metrics on this port (0: any free port; default: none)")
    int metricsPort;

    @Override
    public Integer call() throws Exception {
        EngineSettings settings = engineOptions.settings();
        Config config = cluster.apply(BatonConfig.load(engineOptions.config), "worker");
        NodeId id = new NodeId(cluster.nodeId(config, "worker"));
        Engine engine = Engine.open(settings);
        NodeMetricsServer metrics = metricsPort >= 0 ? new NodeMetricsServer("127.0.0.1", metricsPort) : null;
        EngineLoop loop = new EngineLoop(engine, LoopSettings.defaults(), "engine-loop",
                metrics == null ? null : metrics.registry,
                io.micrometer.core.instrument.Tags.of("role", "worker", "node", id.value(), "model", engine.config().name()));
        if (metrics != null) {
            LOG.info("worker {} metrics on http://127.0.0.1:{}/metrics", id.value(), metrics.port());
        }
        ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
            ctx.spawn(WorkerNode.create(id, engine, loop), "worker");
            return Behaviors.empty();
        }), "baton", config);
        LOG.info("worker {} up: model {} ({}), {} KV blocks of {} positions", id.value(), engine.config().name(),
                settings.model(), engine.pool().blockCount(), engine.pool().spec().blockSize());
        CountDownLatch stopped = new CountDownLatch(1);
        system.getWhenTerminated().whenComplete((d, e) -> stopped.countDown());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            system.terminate();
            try {
                stopped.await();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            loop.close();
            engine.close();
            if (metrics != null) {
                metrics.close();
            }
        }));
        stopped.await();
        return 0;
    }
}
