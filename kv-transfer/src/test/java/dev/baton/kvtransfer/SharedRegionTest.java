package dev.baton.kvtransfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class SharedRegionTest {

    @Test
    void shouldShowItsBytesToAReadOnlyMappingThroughItsPidAndDescriptor() {
        assertTrue(SharedRegion.isSupported(), "Linux has memfd_create");
        try (SharedRegion region = SharedRegion.create("region-test", 1 << 20)) {
            assertEquals(1 << 20, region.byteSize());
            assertEquals(0, region.segment().address() % 4096, "page-aligned data");
            region.segment().set(ValueLayout.JAVA_LONG, 4096, 0x1234_5678_9abc_def0L);
            try (SharedRegion.Mapping m = SharedRegion.open(region.pid(), region.fd(), region.token(), region.byteSize())) {
                assertEquals(0x1234_5678_9abc_def0L, m.segment().get(ValueLayout.JAVA_LONG, 4096));
                assertTrue(m.segment().isReadOnly());
                assertTrue(m.ownerAlive());
                region.segment().set(ValueLayout.JAVA_LONG, 0, 7L);
                assertEquals(7L, m.segment().get(ValueLayout.JAVA_LONG, 0), "the same memory, not a copy");
            }
        }
    }

    @Test
    void shouldRefuseAMappingWhoseTokenOrSizeDoesNotMatch() {
        try (SharedRegion region = SharedRegion.create("region-test", 65536)) {
            KvTransferException token = assertThrows(KvTransferException.class,
                    () -> SharedRegion.open(region.pid(), region.fd(), region.token() + 2, region.byteSize()));
            assertTrue(token.getMessage().contains("does not hold the sender's region"), token.getMessage());
            KvTransferException size = assertThrows(KvTransferException.class,
                    () -> SharedRegion.open(region.pid(), region.fd(), region.token(), 4096));
            assertTrue(size.getMessage().contains("not the 8192 announced"), size.getMessage());
        }
    }

    @Test
    void shouldFreeItsDescriptorOnCloseAndNameItInTheError() {
        SharedRegion region = SharedRegion.create("region-test", 4096);
        Path fd = Path.of("/proc/self/fd/" + region.fd());
        assertTrue(Files.exists(fd));
        region.close();
        region.close();
        KvTransferException e = assertThrows(KvTransferException.class,
                () -> SharedRegion.open(region.pid(), region.fd(), region.token(), region.byteSize()));
        assertTrue(e.getMessage().contains("/proc/" + region.pid() + "/fd/" + region.fd()), e.getMessage());
    }

    @Test
    void shouldTellWhereAnAddressRangeLiesInIt() {
        try (SharedRegion region = SharedRegion.create("region-test", 8192)) {
            long base = region.segment().address();
            assertEquals(0, region.offsetOf(base, 8192));
            assertEquals(100, region.offsetOf(base + 100, 50));
            assertEquals(-1, region.offsetOf(base + 8000, 500), "runs past the end");
            assertEquals(-1, region.offsetOf(base - 1, 10), "starts before it");
        }
    }
}
