package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.EngineSettings;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Choosing the GPU backend where none can run: the engine refuses to open, naming why; the CPU is unaffected. */
class CudaBackendTest {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir"), "models", "tiny-f32.gguf");

    @Test
    void shouldRefuseTheCudaBackendNamingWhyAndLeaveTheCpuWorking() throws Exception {
        CudaDevice.Availability a = CudaDevice.probe();
        Assumptions.assumeFalse(a.available(), "a GPU is here: CudaBackendGpuTest covers it");
        EngineSettings s = EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(1 << 20).withBackend("cuda", 0);
        EngineException e = assertThrows(CudaUnavailableException.class, () -> Engine.open(s));
        assertEquals(a.reason(), e.getMessage());
        EngineException unknown = assertThrows(EngineException.class, () -> Engine.open(s.withBackend("tpu", 0)));
        assertTrue(unknown.getMessage().contains("(known: cpu, ") && unknown.getMessage().contains("cuda"), unknown.getMessage());
        try (Engine cpu = Engine.open(s.withBackend("cpu", 0))) {
            assertTrue(cpu.forward().describe().startsWith("cpu"), cpu.forward().describe());
        }
    }
}
