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
}
