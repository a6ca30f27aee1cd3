package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.decode.DecodeNode;
import dev.baton.engine.Engine;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.engine.sched.LoopSettings;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code bin/baton decode}: a decode node that receives prompts' KV and generates the rest of each answer. */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Run a decode node (receives KV blocks from prefill nodes, continuous-batching decode) that joins the cluster.")
final class DecodeCommand extends NodeCommand {

    @Mixin
    KvOptions kv = new KvOptions();

    @Override
    String role() {
        return "decode";
    }

    @Override
    LoopSettings loopSettings(Config config) {
        return LoopSettings.from(config)
                .withImportTimeoutNanos(config.getDuration("baton.decode.import-timeout", TimeUnit.NANOSECONDS))
                .withStartTimeoutNanos(config.getDuration("baton.decode.start-timeout", TimeUnit.NANOSECONDS));
    }

    @Override
    Role start(NodeId id, Engine engine, EngineLoop loop, KvEventFeed kvEvents, Config config, MeterRegistry registry) {
        AeronKvTransport transport = AeronKvTransport.launch(kv.settings(config, id), registry);
        try {
            DecodeNode.Intake intake = new DecodeNode.Intake(transport, engine);
            return new Role(DecodeNode.create(id, engine, loop, intake, kvEvents), () -> {
                intake.close();
                transport.close();
            }, ", KV in on " + transport.destination());
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
    }
}
