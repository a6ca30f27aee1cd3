package dev.baton.engine;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EngineSettingsTest {

    static Config with(String line) {
        return ConfigFactory.parseString(line).withFallback(ConfigFactory.defaultReference()).resolve();
    }

    @Test
    void shouldTurnThePrefixCacheOnByDefault() {
        assertTrue(EngineSettings.from(ConfigFactory.defaultReference().resolve(), Path.of("m.gguf")).prefixCache());
        assertTrue(EngineSettings.defaults(Path.of("m.gguf")).prefixCache());
    }

    @Test
    void shouldTurnThePrefixCacheOffThroughTheSetting() {
        assertFalse(EngineSettings.from(with("baton.engine.prefix-cache = off"), Path.of("m.gguf")).prefixCache());
        assertFalse(EngineSettings.defaults(Path.of("m.gguf")).withPrefixCache(false).withThreads(2).prefixCache());
    }

    @Test
    void shouldNameTheKeyOfABadPrefixCacheValue() {
        EngineException e = assertThrows(EngineException.class,
                () -> EngineSettings.from(with("baton.engine.prefix-cache = sometimes"), Path.of("m.gguf")));
        assertTrue(e.getMessage().contains("prefix-cache"), e.getMessage());
    }

    @Test
    void shouldChooseTheBackendAndDeviceAndNameAnUnknownBackend() throws Exception {
        EngineSettings d = EngineSettings.from(ConfigFactory.defaultReference().resolve(), Path.of("m.gguf"));
        assertTrue(d.backend().equals("cpu") && d.device() == 0, d.toString());
        EngineSettings gpu = EngineSettings.from(with("baton.engine { backend = CUDA, device = 3 }"), Path.of("m.gguf"));
        assertTrue(gpu.backend().equals("cuda") && gpu.device() == 3, gpu.toString());
        EngineException negative = assertThrows(EngineException.class,
                () -> EngineSettings.from(with("baton.engine.device = -1"), Path.of("m.gguf")));
        assertTrue(negative.getMessage().startsWith("device = -1"), negative.getMessage());

        // the engine module alone knows only the CPU: an unknown backend is refused, naming the ones there are
        Path model = Path.of(System.getProperty("baton.oracle.dir"), "models", "tiny-f32.gguf");
        EngineSettings none = EngineSettings.defaults(model).withThreads(1).withKvCacheBytes(1 << 20).withBackend("tpu", 0);
        EngineException e = assertThrows(EngineException.class, () -> Engine.open(none));
        assertTrue(e.getMessage().equals("baton.engine.backend = tpu: no such backend here (known: cpu)"), e.getMessage());
        try (Engine cpu = Engine.open(none.withBackend("cpu", 0))) {
            assertTrue(cpu.forward().describe().startsWith("cpu ("), cpu.forward().describe());
            assertTrue(cpu.forward().describe().endsWith(", 1 threads)"), cpu.forward().describe());
        }
    }
}
