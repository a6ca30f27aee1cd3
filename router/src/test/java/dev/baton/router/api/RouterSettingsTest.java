package dev.baton.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
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
