package dev.baton.kvtransfer.hosttier;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.baton.common.KvCompatibility;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import net.openhft.hashing.LongHashFunction;

/**
 * How a {@link HostTier} handle is opened. Immutable; {@link #validate()} checks every field once.
 *
 * <p>Every process that opens the same {@code directory}/{@code name} must ask for the same
 * {@code capacityBytes} and {@code blockBytes} (the slab's shape); their compatibilities may differ,
 * and entries of one compatibility are never returned to a handle of another.
 *
 * @param directory           where the files live, e.g. {@code /dev/shm/baton-host-tier} (created if missing)
 * @param name                file name stem: {@code <name>.slab} and {@code <name>.index}
 * @param capacityBytes       the bound on stored block bytes; rounded down to whole slots
 * @param blockBytes          bytes of one KV block; every put and get moves exactly this many
 * @param compatibility       the tuple this handle's blocks are valid under (docs/design.md §5)
 * @param staleWriteTimeoutNs a slot held in WRITING longer than this may be taken back by any process
 */
public record HostTierSettings(
        Path directory,
        String name,
        long capacityBytes,
        long blockBytes,
        KvCompatibility compatibility,
        long staleWriteTimeoutNs) {

    public static final Path DEFAULT_DIRECTORY = Path.of("/dev/shm/baton-host-tier");
    public static final String DEFAULT_NAME = "default";
    public static final long DEFAULT_CAPACITY_BYTES = 1L << 30;
    public static final long DEFAULT_STALE_WRITE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    /** Largest block: one slot must stay addressable by an int length. */
    public static final long MAX_BLOCK_BYTES = 1L << 30;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    /** Settings with the default stale-write timeout, validated. */
    public static HostTierSettings of(
            Path directory, String name, long capacityBytes, long blockBytes, KvCompatibility compatibility) {
        return new HostTierSettings(directory, name, capacityBytes, blockBytes, compatibility,
                DEFAULT_STALE_WRITE_TIMEOUT_NS).validate();
    }

    /**
     * Reads {@code baton.kv-transfer.host-tier} (see reference.conf); {@code blockBytes} and
     * {@code compatibility} come from the engine's KV layout. Errors name the key.
     */
    public static HostTierSettings from(Config root, long blockBytes, KvCompatibility compatibility) {
        try {
            Config c = root.getConfig("baton.kv-transfer.host-tier");
            return new HostTierSettings(Path.of(c.getString("directory")), c.getString("name"),
                    c.getBytes("capacity"), blockBytes, compatibility,
                    c.getDuration("stale-write-timeout", TimeUnit.NANOSECONDS)).validate();
        } catch (ConfigException e) {
            throw new HostTierException("configuration: " + e.getMessage(), e);
        }
    }

    /**
     * Reads {@code baton.kv-transfer.host-tier.enabled}: whether node processes use the tier under their
     * prefix cache (see reference.conf). Errors name the key.
     */
    public static boolean enabled(Config root) {
        try {
            return root.getBoolean("baton.kv-transfer.host-tier.enabled");
        } catch (ConfigException e) {
            throw new HostTierException("configuration: " + e.getMessage(), e);
        }
    }

    public HostTierSettings withStaleWriteTimeoutNs(long ns) {
        return new HostTierSettings(directory, name, capacityBytes, blockBytes, compatibility, ns).validate();
    }

    /** Throws {@link HostTierException} naming the first field out of range. */
    public HostTierSettings validate() {
        if (directory == null) {
            throw new HostTierException("directory: a directory is required");
        }
        if (name == null || !NAME.matcher(name).matches()) {
            throw new HostTierException("name = " + name + ": must be 1..100 of [A-Za-z0-9._-]");
        }
        if (compatibility == null) {
            throw new HostTierException("compatibility: required");
        }
        check(blockBytes >= 1 && blockBytes <= MAX_BLOCK_BYTES, "blockBytes", blockBytes, "1.." + MAX_BLOCK_BYTES);
        check(capacityBytes >= slotStride(), "capacityBytes", capacityBytes, ">= one slot of " + slotStride() + " bytes");
        check(slotCount() <= Integer.MAX_VALUE - 1, "capacityBytes", capacityBytes,
                "at most " + (Integer.MAX_VALUE - 1) + " slots of " + slotStride() + " bytes");
        check(staleWriteTimeoutNs >= 1, "staleWriteTimeoutNs", staleWriteTimeoutNs, ">= 1");
        return this;
    }

    private static void check(boolean ok, String field, Object value, String range) {
        if (!ok) {
            throw new HostTierException(field + " = " + value + " is out of range (" + range + ")");
        }
    }

    /** Bytes one slot takes in the slab: {@code blockBytes} rounded up to a page (or a cache line below one page). */
    public long slotStride() {
        return Slab.slotStride(blockBytes);
    }

    /** Slots in the slab: {@code capacityBytes / slotStride()}. */
    public long slotCount() {
        return capacityBytes / slotStride();
    }

    public Path slabFile() {
        return directory.resolve(name + ".slab");
    }

    public Path indexFile() {
        return directory.resolve(name + ".index");
    }

    /**
     * 64-bit digest of the compatibility tuple and the block size: part of every index key, so blocks
     * of another model, dtype or layout are never returned. XXH3-64 of a canonical string.
     */
    public long compatibilityDigest() {
        KvCompatibility k = compatibility;
        String canonical = "baton-host-tier-v1|" + k.model() + '|' + k.dtype() + '|' + k.blockSize() + '|'
                + k.layout() + '|' + k.layerCount() + '|' + k.kvHeadCount() + '|' + k.headDim() + '|'
                + k.protocolVersion() + '|' + blockBytes;
        return LongHashFunction.xx3().hashChars(canonical);
    }
}
