package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvCacheSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** What needs no device: the probe answers without failing, and says why no GPU can be used here. */
class CudaDeviceTest {

    @Test
    void shouldProbeWithoutFailingAndNameWhyNoGpuIsUsable() {
        CudaDevice.Availability a = CudaDevice.probe();
        assertEquals(a, CudaDevice.probe(), "probed once");
        if (a.available()) {
            assertFalse(a.devices().isEmpty());
            return;
        }
        assertTrue(a.devices().isEmpty());
        assertFalse(a.reason().isBlank());
        var e = assertThrows(CudaUnavailableException.class, () -> CudaDevice.open(0));
        assertEquals(a.reason(), e.getMessage(), "opening a device names the same reason");
    }

    @Test
    void shouldLayOutTheKvGeometryStructAsTheKernelsRead() {
        KvCacheSpec spec = new KvCacheSpec(24, 2, 64, 16, GgmlType.F16);
        ByteBuffer b = ByteBuffer.wrap(KvGeometry.of(spec, 128)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(KvGeometry.BYTES, b.capacity());
        assertEquals(spec.blockBytes(), b.getLong(0));
        assertEquals(spec.layerBytes(), b.getLong(8));
        assertEquals(spec.headRunBytes(), b.getLong(16));
        assertEquals(spec.rowBytes(), b.getInt(24));
        assertEquals(16, b.getInt(28));
        assertEquals(128, b.getInt(32));
        assertEquals(spec.offsetInBlock(1, true, 1, 3),
                b.getLong(8) + (2 + 1) * b.getLong(16) + 3L * b.getInt(24), "the kernel's kv_offset within a block");
    }
}
