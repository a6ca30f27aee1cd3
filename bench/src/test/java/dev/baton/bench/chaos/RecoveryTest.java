package dev.baton.bench.chaos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RecoveryTest {

    /** 100 ms buckets: 10 chunks each (100/s), nothing from {@code dipFrom} to {@code dipTo}. */
    static long[] series(int buckets, int dipFrom, int dipTo) {
        long[] c = new long[buckets];
        Arrays.fill(c, 10);
        Arrays.fill(c, dipFrom, dipTo, 0);
        return c;
    }

    @Test
    void shouldMeasureTheTimeUntilTheRateIsBack() {
        // fault at 5 s; nothing streams for 1.5 s; then the old rate (a window with any of the dip in it is below 95 %)
        Recovery.Result r = Recovery.of(series(200, 50, 65), 100, 5000, 5000, 1000, 0.95, 20_000);
        assertEquals(1400, Recovery.of(series(200, 50, 65), 100, 5000, 5000, 1000, 0.9, 20_000).recoveryMs(),
                "at 90 %, a window from 6.4 s (one empty bucket in ten) is enough");
        assertEquals(100.0, r.preFaultPerSecond(), 1e-9);
        assertEquals(1500, r.recoveryMs());
    }

    @Test
    void shouldSayZeroWhenTheFaultDidNotSlowTheClusterDown() {
        assertEquals(0, Recovery.of(series(200, 0, 0), 100, 5000, 5000, 1000, 0.9, 20_000).recoveryMs());
    }

    @Test
    void shouldAcceptAWindowAtTheFractionOfThePreFaultRate() {
        long[] c = series(200, 0, 0);
        Arrays.fill(c, 50, 200, 8); // 80/s after the fault
        assertEquals(0, Recovery.of(c, 100, 5000, 5000, 1000, 0.8, 20_000).recoveryMs());
        Recovery.Result strict = Recovery.of(c, 100, 5000, 5000, 1000, 0.9, 20_000);
        assertFalse(strict.recovered());
        assertEquals(-1, strict.recoveryMs());
    }

    @Test
    void shouldNotCountWindowsThatStartAfterTheLimit() {
        // back at 8 s, but the next fault came at 7 s
        assertFalse(Recovery.of(series(200, 50, 80), 100, 5000, 5000, 1000, 0.95, 7000).recovered());
        assertEquals(3000, Recovery.of(series(200, 50, 80), 100, 5000, 5000, 1000, 0.95, 9000).recoveryMs());
    }

    @Test
    void shouldCutThePreFaultWindowAtTheStart() {
        assertEquals(100.0, Recovery.of(series(200, 30, 40), 100, 2000, 10_000, 500, 0.9, 20_000).preFaultPerSecond(), 1e-9);
    }

    @Test
    void shouldCountArrivalsPerBucket() {
        assertArrayEquals(new long[] {2, 0, 1}, Recovery.buckets(new long[] {0, 99, 250, 300, -5}, 100, 300));
    }

    @Test
    void shouldRefuseBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> Recovery.of(new long[10], 100, 0, 100, 50, 0.9, 1000));
        assertThrows(IllegalArgumentException.class, () -> Recovery.of(new long[10], 100, 0, 100, 100, 1.5, 1000));
    }
}
