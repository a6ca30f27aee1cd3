package dev.baton.bench.serve.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SloTest {

    @Test
    void shouldParseObjectivesWithUnits() {
        Slo s = Slo.parse("ttft=500ms, tpot=0.05s,e2e=2500000us");
        assertEquals(500.0, s.ttftMs(), 0);
        assertEquals(50.0, s.tpotMs(), 1e-12);
        assertEquals(2500.0, s.e2eMs(), 1e-9);
        assertEquals("ttft=500ms,tpot=50ms,e2e=2500ms", s.toString());
        assertTrue(Slo.parse("").isEmpty());
        assertEquals(40.0, Slo.parse("tpot=40").tpotMs(), 0);
    }

    @Test
    void shouldCountAFigureEqualToItsObjectiveAsMeetingIt() {
        Slo s = Slo.parse("ttft=500ms,tpot=50ms");
        assertTrue(s.meets(true, 500, 50, 9999));
        assertFalse(s.meets(true, 500.001, 50, 0));
        assertFalse(s.meets(true, 10, 50.5, 0));
        assertFalse(s.meets(false, 10, 10, 10));
        // One output token: no TPOT, which cannot break the TPOT objective.
        assertTrue(s.meets(true, 10, Double.NaN, 10));
    }

    @Test
    void shouldNameTheBadEntry() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Slo.parse("ttft=fast"));
        assertTrue(e.getMessage().contains("ttft"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Slo.parse("itl99=5ms"));
        assertTrue(e.getMessage().contains("itl99"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Slo.parse("ttft=-5ms"));
    }
}
