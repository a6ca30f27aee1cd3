package dev.baton.kvtransfer.hosttier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.common.KvCompatibility;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HostTierSettingsTest {

    @Test
    void shouldReadTheDefaultsFromReferenceConf() {
        HostTierSettings s = HostTierSettings.from(ConfigFactory.load(), 64 * 1024, Blocks.COMPAT);
        assertEquals(Path.of("/dev/shm/baton-host-tier"), s.directory());
        assertEquals("default", s.name());
        assertEquals(1L << 30, s.capacityBytes());
        assertEquals(TimeUnit.SECONDS.toNanos(10), s.staleWriteTimeoutNs());
        assertEquals(16384, s.slotCount());
        assertEquals(Path.of("/dev/shm/baton-host-tier/default.slab"), s.slabFile());
    }

    @Test
    void shouldReadOverrides() {
        HostTierSettings s = HostTierSettings.from(ConfigFactory.parseString("""
                baton.kv-transfer.host-tier { directory = "/tmp/x", name = "m7", capacity = 8MiB, stale-write-timeout = 250ms }
                """).withFallback(ConfigFactory.load()), 4096, Blocks.COMPAT);
        assertEquals(Path.of("/tmp/x/m7.index"), s.indexFile());
        assertEquals(2048, s.slotCount());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(250), s.staleWriteTimeoutNs());
    }

    @Test
    void shouldNameTheKeyOfABadValue() {
        HostTierException e = assertThrows(HostTierException.class, () -> HostTierSettings.from(
                ConfigFactory.parseString("baton.kv-transfer.host-tier.capacity = lots").withFallback(ConfigFactory.load()),
                4096, Blocks.COMPAT));
        assertTrue(e.getMessage().contains("capacity"), e.getMessage());
    }

    @Test
    void shouldBeEnabledForNodesByDefaultAndTurnOff() {
        assertTrue(HostTierSettings.enabled(ConfigFactory.load()));
        assertFalse(HostTierSettings.enabled(ConfigFactory.parseString("baton.kv-transfer.host-tier.enabled = off")
                .withFallback(ConfigFactory.load())));
        HostTierException e = assertThrows(HostTierException.class, () -> HostTierSettings.enabled(
                ConfigFactory.parseString("baton.kv-transfer.host-tier.enabled = maybe").withFallback(ConfigFactory.load())));
        assertTrue(e.getMessage().contains("enabled"), e.getMessage());
    }

    @Test
    void shouldRefuseACapacityBelowOneSlot() {
        HostTierException e = assertThrows(HostTierException.class,
                () -> HostTierSettings.of(Path.of("/tmp"), "t", 1000, 4096, Blocks.COMPAT));
        assertTrue(e.getMessage().startsWith("capacityBytes = 1000 is out of range"), e.getMessage());
    }

    @Test
    void shouldRefuseANameThatIsNotAFileName() {
        assertThrows(HostTierException.class, () -> HostTierSettings.of(Path.of("/tmp"), "../etc", 1 << 20, 4096, Blocks.COMPAT));
    }

    @Test
    void shouldRoundSlotsUpToPagesOrCacheLines() {
        assertEquals(16384, HostTierSettings.of(Path.of("/tmp"), "t", 1 << 20, 16384, Blocks.COMPAT).slotStride());
        assertEquals(8192, HostTierSettings.of(Path.of("/tmp"), "t", 1 << 20, 4100, Blocks.COMPAT).slotStride());
        assertEquals(1024, HostTierSettings.of(Path.of("/tmp"), "t", 1 << 20, 1000, Blocks.COMPAT).slotStride());
    }

    @Test
    void shouldGiveEveryCompatibilityItsOwnDigest() {
        KvCompatibility c = Blocks.COMPAT;
        KvCompatibility otherLayers = new KvCompatibility(c.model(), c.dtype(), c.blockSize(), c.layout(),
                c.layerCount() + 1, c.kvHeadCount(), c.headDim(), c.protocolVersion());
        long base = HostTierSettings.of(Path.of("/tmp"), "t", 1 << 20, 4096, c).compatibilityDigest();
        assertEquals(base, HostTierSettings.of(Path.of("/tmp"), "u", 2 << 20, 4096, c).compatibilityDigest());
        assertNotEquals(base, HostTierSettings.of(Path.of("/tmp"), "t", 1 << 20, 4096, otherLayers).compatibilityDigest());
        assertNotEquals(base, HostTierSettings.of(Path.of("/tmp"), "t", 1 << 20, 8192, c).compatibilityDigest());
    }
}
