package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.common.BlockHash;
import dev.baton.engine.Engine;
import dev.baton.engine.kv.KvTier;
import dev.baton.kvtransfer.hosttier.GetResult;
import dev.baton.kvtransfer.hosttier.HostTier;
import dev.baton.kvtransfer.hosttier.HostTierException;
import dev.baton.kvtransfer.hosttier.HostTierMetrics;
import dev.baton.kvtransfer.hosttier.HostTierSettings;
import dev.baton.kvtransfer.hosttier.PutResult;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kv-transfer {@link HostTier} as a node's second KV tier ({@link KvTier}, docs/design.md §6): the node's
 * engine loop stores the blocks its pool evicts in it and reads prompt blocks back from it. Every node
 * process on the host shares the tier's files, and they outlive the processes, so a block one node
 * computed is read back by another, or by the same node after a restart.
 *
 * <p>The tier is opened with the engine's block bytes and compatibility tuple: a block is only ever read
 * back by an engine of the same model, KV dtype, block size and layout. {@link HostTier#get} verifies
 * each block's checksum; a block that fails is a miss.
 *
 * <p>Thread-safe, like {@link HostTier}. Owns its handle: {@link #close()} it after the engine loop.
 */
final class HostKvTier implements KvTier, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HostKvTier.class);

    private final HostTier tier;

    HostKvTier(HostTier tier) {
        this.tier = tier;
    }

    /**
     * Opens the host tier for {@code engine} as {@code baton.kv-transfer.host-tier} says, and registers
     * its meters ({@link HostTierMetrics}) with {@code tags}. Never fails the node: returns null when the
     * tier is off, when the engine's prefix cache is off (there would be nothing to spill), and, with a
     * warning that says why, when the tier cannot be used.
     */
    static HostKvTier open(Config config, Engine engine, MeterRegistry registry, Tags tags) {
        try {
            if (!HostTierSettings.enabled(config)) {
                LOG.info("host tier off (baton.kv-transfer.host-tier.enabled = off)");
                return null;
            }
            if (!engine.settings().prefixCache()) {
                LOG.info("host tier not used: the prefix cache is off (baton.engine.prefix-cache)");
                return null;
            }
            HostTierSettings s = HostTierSettings.from(config, engine.pool().spec().blockBytes(), engine.compatibility());
            checkDirectory(s);
            HostTier tier = HostTier.open(s);
            HostTierMetrics.bind(tier, registry, tags);
            return new HostKvTier(tier);
        } catch (HostTierException e) {
            LOG.warn("host tier not used, this node runs without it: {}", e.getMessage());
            return null;
        } catch (RuntimeException | LinkageError e) { // Chronicle Map without the JVM flags it needs, and the like
            LOG.warn("host tier not used, this node runs without it: {}", e.toString(), e);
            return null;
        }
    }

    /**
     * Refuses a directory that cannot hold the tier. The slab is a sparse file mapped into memory: on a
     * tmpfs that runs out of room, a write to it faults instead of failing, so the free space must
     * cover the capacity before the file is made (once it exists, the process that made it checked).
     */
    static void checkDirectory(HostTierSettings s) {
        Path dir = s.directory();
        try {
            Files.createDirectories(dir);
            if (!Files.isWritable(dir)) {
                throw new HostTierException("directory " + dir + " is not writable (baton.kv-transfer.host-tier.directory)");
            }
            if (Files.exists(s.slabFile())) {
                return;
            }
            long need = s.slotCount() * s.slotStride();
            long free = Files.getFileStore(dir).getUsableSpace();
            if (free < need) {
                throw new HostTierException(dir + " has " + (free >> 20) + " MiB free, less than the tier's "
                        + (need >> 20) + " MiB (baton.kv-transfer.host-tier.capacity): lower the capacity or use a "
                        + "directory on a bigger file system");
            }
        } catch (IOException e) {
            throw new HostTierException("directory " + dir + " cannot be used (baton.kv-transfer.host-tier.directory): "
                    + e, e);
        }
    }

    /** The slab file and capacity, for the node's start-up line. */
    String describe() {
        HostTierSettings s = tier.settings();
        return s.slabFile() + " (" + (s.slotCount() * s.slotStride() >> 20) + " MiB)";
    }

    HostTier tier() {
        return tier;
    }

    @Override
    public boolean load(BlockHash hash, MemorySegment dst) {
        return tier.get(hash, dst) == GetResult.HIT;
    }

    @Override
    public boolean store(BlockHash hash, MemorySegment src) {
        PutResult r = tier.put(hash, src);
        return r == PutResult.STORED || r == PutResult.ALREADY_PRESENT;
    }

    /** Unmaps this process's view of the tier; the files stay for the other processes and the next start. */
    @Override
    public void close() {
        tier.close();
    }
}
