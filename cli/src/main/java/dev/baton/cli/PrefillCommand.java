package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.engine.Engine;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import dev.baton.prefill.PrefillNode;
import io.micrometer.core.instrument.MeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code bin/baton prefill}: a prefill node that computes prompts and ships their KV to decode nodes. */
@Command(name = "prefill", mixinStandardHelpOptions = true,
        description = "Run a prefill node (batched, chunked prefill; ships KV blocks to decode nodes) that joins the cluster.")
final class PrefillCommand extends NodeCommand {

    @Mixin
    KvOptions kv = new KvOptions();

    @Override
    String role() {
        return "prefill";
    }

    @Override
    Role start(NodeId id, Engine engine, EngineLoop loop, KvEventFeed kvEvents, Config config, MeterRegistry registry) {
        AeronKvTransport transport = AeronKvTransport.launch(kv.settings(config, id), registry);
        PrefillNode.Shipping shipping = new PrefillNode.Shipping(transport, engine, loop,
                config.getDuration("baton.prefill.kv-lease"), config.getDuration("baton.prefill.transfer-timeout"));
        return new Role(PrefillNode.create(id, engine, loop, shipping, kvEvents), () -> {
            shipping.close();
            transport.close();
        }, ", KV acknowledgements on " + transport.settings().replyChannel());
    }
}
