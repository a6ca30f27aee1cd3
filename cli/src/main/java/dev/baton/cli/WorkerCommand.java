package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.decode.WorkerNode;
import dev.baton.engine.Engine;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
import io.micrometer.core.instrument.MeterRegistry;
import picocli.CommandLine.Command;

/** {@code bin/baton worker}: a node that runs whole requests (prefill and decode in one loop). */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a worker node (prefill and decode together) that joins the cluster.")
final class WorkerCommand extends NodeCommand {

    @Override
    String role() {
        return "worker";
    }

    @Override
    Role start(NodeId id, Engine engine, EngineLoop loop, KvEventFeed kvEvents, Config config, MeterRegistry registry) {
        return new Role(WorkerNode.create(id, engine, loop, kvEvents), () -> { }, "");
    }
}
