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

    @Override
    public Integer call() throws Exception {
        EngineSettings settings = engineOptions.settings();
        Config config = cluster.apply(BatonConfig.load(engineOptions.config), "worker");
        NodeId id = new NodeId(cluster.nodeId(config, "worker"));
        Engine engine = Engine.open(settings);
        EngineLoop loop = new EngineLoop(engine, LoopSettings.defaults(), "engine-loop");
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
        }));
        stopped.await();
        return 0;
    }
}
