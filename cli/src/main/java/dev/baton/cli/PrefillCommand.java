package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.NodeId;
import dev.baton.engine.Engine;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.KvEventFeed;
import dev.baton.kvtransfer.KvTransferException;
import dev.baton.kvtransfer.SharedRegion;
import dev.baton.kvtransfer.aeron.AeronKvTransport;
import dev.baton.prefill.PrefillNode;
import dev.baton.prefill.PrefillSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.foreign.MemorySegment;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code bin/baton prefill}: a prefill node that computes prompts and ships their KV to decode nodes. */
@Command(name = "prefill", mixinStandardHelpOptions = true,
        description = "Run a prefill node (batched, chunked prefill; ships KV blocks to decode nodes) that joins the cluster.")
final class PrefillCommand extends NodeCommand {

    private static final Logger LOG = LoggerFactory.getLogger(PrefillCommand.class);

    @Mixin
    KvOptions kv = new KvOptions();

    /** The shared memory of the engine's KV pool, when {@code baton.prefill.shared-pool} is on and the platform has it. */
    private SharedRegion region;

    @Override
    LongFunction<MemorySegment> poolMemory(Config config) {
        if (!PrefillSettings.from(config).sharedPool()) {
            return null;
        }
        if (!SharedRegion.isSupported()) {
            LOG.info("prefill: no shared KV pool on this platform (no memfd_create): decode nodes get bytes");
            return null;
        }
        return bytes -> {
            try {
                region = SharedRegion.create("baton-kv-pool", bytes);
                return region.segment();
            } catch (KvTransferException e) {
                LOG.warn("prefill: KV pool not shared ({}): decode nodes on this host get bytes", e.getMessage());
                return null;
            }
        };
    }

    @Override
    void closeAfterEngine() {
        if (region != null) {
            region.close();
        }
    }

    @Override
    String role() {
        return "prefill";
    }

    @Override
    Role start(NodeId id, Engine engine, EngineLoop loop, KvEventFeed kvEvents, Config config, MeterRegistry registry) {
        AeronKvTransport transport = AeronKvTransport.launch(kv.settings(config, id), registry);
        PrefillNode.Shipping shipping = new PrefillNode.Shipping(transport, region, engine, loop,
                PrefillSettings.from(config), registry,
                io.micrometer.core.instrument.Tags.of("role", role(), "node", id.value(), "model", engine.config().name()));
        return new Role(PrefillNode.create(id, engine, loop, shipping, kvEvents), () -> {
            shipping.close();
            transport.close();
        }, ", KV acknowledgements on " + transport.settings().replyChannel()
                + (region != null ? ", KV pool shared with decode nodes on this host" : "")
                + (PrefillSettings.from(config).streamKv() ? ", KV streamed while prompts are computed" : ""));
    }
}
