package dev.baton.bench.serve.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Percentiles against values numpy.percentile(x, p) (method "linear") gives. */
@Timeout(10)
class PercentilesTest {

    @Test
    void shouldInterpolateLinearlyBetweenClosestRanksLikeNumpy() {
        double[] x = {4, 1, 3, 2};
        assertEquals(2.5, Percentiles.of(x, 50), 0);
        assertEquals(3.7, Percentiles.of(x, 90), 1e-12);
        assertEquals(3.97, Percentiles.of(x, 99), 1e-12);
        assertEquals(1.0, Percentiles.of(x, 0), 0);
        assertEquals(4.0, Percentiles.of(x, 100), 0);
        // numpy.percentile([15, 20, 35, 40, 50], [40, 75]) == [29., 40.]
        double[] y = {15, 20, 35, 40, 50};
        assertEquals(29.0, Percentiles.of(y, 40), 1e-12);
        assertEquals(40.0, Percentiles.of(y, 75), 0);
    }

    @Test
    void shouldNotModifyTheInput() {
        double[] x = {3, 1, 2};
        Percentiles.of(x, 50);
        assertEquals(3, x[0]);
    }

    @Test
    void shouldGiveTheOnlyValueOfOneSampleAndNanOfNone() {
        assertEquals(7.0, Percentiles.of(new double[] {7}, 99), 0);
        assertTrue(Double.isNaN(Percentiles.of(new double[0], 50)));
    }

    @Test
    void shouldRefuseAPercentileOutsideZeroToHundred() {
        assertThrows(IllegalArgumentException.class, () -> Percentiles.of(new double[] {1}, 101));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.of(new double[] {1}, Double.NaN));
    }

    @Test
    void shouldSummarizeMeanStdAndPercentilesSkippingNan() {
        Stats s = Stats.of(new double[] {2, 4, 4, 4, 5, 5, 7, 9, Double.NaN});
        assertEquals(8, s.count());
        assertEquals(5.0, s.mean(), 0);
        assertEquals(2.0, s.std(), 0); // population standard deviation, numpy.std's default
        assertEquals(4.5, s.median(), 0);
        assertEquals(7.6, s.p90(), 1e-12); // rank 6.3: 7 + 0.3 * (9 - 7)
        assertEquals(8.86, s.p99(), 1e-12); // rank 6.93
        assertEquals(2.0, s.min(), 0);
        assertEquals(9.0, s.max(), 0);
        assertEquals(0, Stats.of(new double[0]).count());
        assertTrue(Double.isNaN(Stats.of(new double[0]).mean()));
    }
}
