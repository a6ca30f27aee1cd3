package dev.baton.kvtransfer.hosttier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostTierIndexTest {

    private static final HostTier.Liveness ALL_LIVE = ref -> true;
    private static final HostTier.Liveness NONE_LIVE = ref -> false;

    @TempDir
    Path dir;

    @Test
    void shouldPublishOnlyWhenNoLiveReferenceIsThere() throws Exception {
        try (HostTierIndex index = HostTierIndex.open(dir.resolve("t.index"), "t", 1024)) {
            assertEquals(HostTierIndex.NONE, index.lookup(1, 2, 3));
            assertEquals(HostTierIndex.NONE, index.publish(1, 2, 3, HostTierIndex.ref(7, 1), ALL_LIVE));
            assertEquals(HostTierIndex.ref(7, 1), index.publish(1, 2, 3, HostTierIndex.ref(8, 1), ALL_LIVE));
            assertEquals(HostTierIndex.NONE, index.publish(1, 2, 3, HostTierIndex.ref(8, 1), NONE_LIVE));
            assertEquals(HostTierIndex.ref(8, 1), index.lookup(1, 2, 3));
            assertEquals(HostTierIndex.NONE, index.lookup(1, 2, 4), "another compatibility digest is another key");
        }
    }

    @Test
    void shouldRemoveOnlyTheExpectedReference() throws Exception {
        try (HostTierIndex index = HostTierIndex.open(dir.resolve("t.index"), "t", 1024)) {
            index.publish(1, 2, 3, HostTierIndex.ref(7, 1), ALL_LIVE);
            assertFalse(index.removeIfEquals(1, 2, 3, HostTierIndex.ref(7, 2)));
            assertTrue(index.removeIfEquals(1, 2, 3, HostTierIndex.ref(7, 1)));
            assertEquals(HostTierIndex.NONE, index.lookup(1, 2, 3));
        }
    }

    @Test
    void shouldPurgeStaleEntriesWhenTheMapIsFull() throws Exception {
        try (HostTierIndex index = HostTierIndex.open(dir.resolve("t.index"), "t", 1024)) {
            // Far more keys than the map is sized for: every one is stale by the time the next comes,
            // as if their writers had died between evicting a slot and unindexing it.
            for (int i = 0; i < 50_000; i++) {
                assertEquals(HostTierIndex.NONE, index.publish(i, i, 3, HostTierIndex.ref(i % 1024, i), NONE_LIVE));
            }
            assertTrue(index.size() < 50_000, "stale entries were purged: " + index.size());
            assertEquals(HostTierIndex.ref(49_999 % 1024, 49_999), index.lookup(49_999, 49_999, 3));
        }
    }
}
