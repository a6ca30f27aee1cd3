package dev.baton.prefill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PrefillSettingsTest {

    @Test
    void shouldReadTheDefaultsOfReferenceConf() {
        PrefillSettings s = PrefillSettings.from(ConfigFactory.load());
        assertEquals(PrefillSettings.defaults(), s);
        assertTrue(s.streamKv(), "KV is streamed while the prompt is computed by default");
    }

    @Test
    void shouldTurnStreamingOffByItsKey() {
        PrefillSettings s = PrefillSettings.from(ConfigFactory.parseString("baton.prefill.stream-kv = off")
                .withFallback(ConfigFactory.load()));
        assertFalse(s.streamKv());
        assertEquals(Duration.ofSeconds(30), s.transferTimeout());
    }

    @Test
    void shouldRefuseANonPositiveLeaseNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PrefillSettings.from(
                ConfigFactory.parseString("baton.prefill.kv-lease = 0s").withFallback(ConfigFactory.load())));
        assertTrue(e.getMessage().contains("baton.prefill.kv-lease"), e.getMessage());
    }
}
