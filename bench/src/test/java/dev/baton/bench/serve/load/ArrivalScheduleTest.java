package dev.baton.bench.serve.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class ArrivalScheduleTest {

    static double[] gaps(long[] offsets) {
        double[] g = new double[offsets.length - 1];
        for (int i = 1; i < offsets.length; i++) {
            g[i - 1] = (offsets[i] - offsets[i - 1]) / 1e9;
        }
        return g;
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double cv(double[] v) {
        double m = mean(v);
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / v.length) / m;
    }

    @Test
    void shouldRepeatTheSameScheduleForTheSameSeed() {
        LoadSpec.Rate r = new LoadSpec.Rate(4, 1);
        assertArrayEquals(ArrivalSchedule.offsetsNs(r, 50, 9), ArrivalSchedule.offsetsNs(r, 50, 9));
        assertEquals(0, ArrivalSchedule.offsetsNs(r, 50, 9)[0]);
    }

    @Test
    void shouldSpacePoissonArrivalsByExponentialGapsOfMeanOneOverRate() {
        double[] g = gaps(ArrivalSchedule.offsetsNs(new LoadSpec.Rate(4, 1), 40_001, 1));
        assertEquals(0.25, mean(g), 0.25 * 0.02);
        assertEquals(1.0, cv(g), 0.03); // exponential: standard deviation equals the mean
    }

    @Test
    void shouldMakeGammaArrivalsBurstierBelowShapeOneAndKeepTheMean() {
        double[] bursty = gaps(ArrivalSchedule.offsetsNs(new LoadSpec.Rate(2, 0.25), 40_001, 2));
        assertEquals(0.5, mean(bursty), 0.5 * 0.03);
        assertEquals(2.0, cv(bursty), 0.1); // 1 / sqrt(0.25)
        double[] smooth = gaps(ArrivalSchedule.offsetsNs(new LoadSpec.Rate(2, 4), 40_001, 3));
        assertEquals(0.5, mean(smooth), 0.5 * 0.02);
        assertEquals(0.5, cv(smooth), 0.02); // 1 / sqrt(4)
    }

    @Test
    void shouldSendEverythingAtOnceAtAnInfiniteRate() {
        assertArrayEquals(new long[5], ArrivalSchedule.offsetsNs(LoadSpec.parseRate("inf", 1), 5, 1));
        assertEquals("rate=inf", LoadSpec.parseRate("inf", 1).label());
        assertEquals("rate=0.5/s", LoadSpec.parseRate("0.5", 1).label());
        assertEquals("rate=2/s", LoadSpec.parseRate("2", 1).label());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoadSpec.parseRate("fast", 1));
        assertTrue(e.getMessage().contains("--rate"));
    }
}
