package dev.baton.kvtransfer.hosttier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostTierMetricsTest {

    @TempDir
    Path dir;

    @Test
    void shouldExposeTheTiersFiguresAsMeters() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (HostTier tier = HostTier.open(Blocks.settings(dir, 4, 4096)); Arena arena = Arena.ofConfined()) {
            HostTierMetrics.bind(tier, registry, Tags.of("role", "decode"));
            MemorySegment block = arena.allocate(4096);
            for (int i = 0; i < 5; i++) {
                Blocks.fill(block, Blocks.hash("m", i));
                tier.put(Blocks.hash("m", i), block);
            }
            tier.get(Blocks.hash("m", 4), block);
            tier.get(Blocks.hash("absent", 0), block);

            assertEquals(4, registry.get("baton.kv.host.tier.entries").tag("role", "decode").gauge().value());
            assertEquals(4 * 4096, registry.get("baton.kv.host.tier.used").gauge().value());
            assertEquals(4 * 4096, registry.get("baton.kv.host.tier.capacity").gauge().value());
            assertEquals(1, registry.get("baton.kv.host.tier.evictions").functionCounter().count());
            assertEquals(5, registry.get("baton.kv.host.tier.stores").functionCounter().count());
            assertEquals(1, registry.get("baton.kv.host.tier.lookups").tag("result", "hit").functionCounter().count());
            assertEquals(1, registry.get("baton.kv.host.tier.lookups").tag("result", "miss").functionCounter().count());
        }
    }
}
