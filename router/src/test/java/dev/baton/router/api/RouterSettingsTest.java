package dev.baton.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.router.api.openai.RequestLimits;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RouterSettingsTest {

    @Test
    void shouldReadTheDefaultsOfReferenceConf() {
        RouterSettings s = RouterSettings.from(ConfigFactory.defaultReference());
        assertEquals("127.0.0.1", s.host());
        assertEquals(8000, s.port());
        assertEquals(List.of(), s.apiKeys());
        assertFalse(s.requiresApiKey());
        assertEquals(Duration.ofMinutes(5), s.requestTimeout());
        assertEquals(1024, s.maxStreamBuffer());
        assertEquals(1, s.retryAfterSeconds());
        assertEquals(8192, s.maxHeaderBytes());
        assertEquals(64, s.maxHeaders());
        assertEquals(8192, s.maxUriBytes());
        assertEquals(RequestLimits.ENGINE, s.limits(), "the model's context and the engine's limits");
    }

    @Test
    void shouldReadTheLimitsOnFields() {
        RouterSettings s = RouterSettings.from(ConfigFactory.parseString("baton.router.limits { max-prompt-tokens = 4096,"
                + " max-tokens = 1024, max-stop-strings = 4, max-stop-string-chars = 32, max-logprobs = 5 }")
                .withFallback(ConfigFactory.defaultReference()));
        assertEquals(new RequestLimits(4096, 1024, 4, 32, 5), s.limits());
    }

    @Test
    void shouldRefuseALimitAboveTheEnginesNamingTheKey() {
        for (String setting : List.of("max-stop-strings = 17", "max-stop-string-chars = 257", "max-stop-string-chars = 0",
                "max-logprobs = 21", "max-prompt-tokens = -1", "max-tokens = -1")) {
            RouterConfigException e = assertThrows(RouterConfigException.class, () -> RouterSettings.from(ConfigFactory
                    .parseString("baton.router.limits." + setting).withFallback(ConfigFactory.defaultReference())));
            String key = setting.substring(0, setting.indexOf(' '));
            assertTrue(e.getMessage().contains("baton.router.limits." + key), e.getMessage());
            assertTrue(e.getMessage().contains("out of range"), e.getMessage());
        }
    }

    @Test
    void shouldNameTheKeyOfAValueOutOfRange() {
        RouterConfigException e = assertThrows(RouterConfigException.class, () -> RouterSettings.from(
                ConfigFactory.parseString("baton.router.port = 70000").withFallback(ConfigFactory.defaultReference())));
        assertTrue(e.getMessage().contains("baton.router.port"), e.getMessage());
        RouterConfigException wrongType = assertThrows(RouterConfigException.class, () -> RouterSettings.from(
                ConfigFactory.parseString("baton.router.request-timeout = soon").withFallback(ConfigFactory.defaultReference())));
        assertTrue(wrongType.getMessage().contains("request-timeout"), wrongType.getMessage());
    }

    @Test
    void shouldNeverPrintTheApiKeys() {
        RouterSettings s = RouterSettings.from(ConfigFactory.parseString("baton.router.api-keys = [\"sk-secret\"]")
                .withFallback(ConfigFactory.defaultReference()));
        assertTrue(s.requiresApiKey());
        assertFalse(s.toString().contains("sk-secret"), s.toString());
    }
}
