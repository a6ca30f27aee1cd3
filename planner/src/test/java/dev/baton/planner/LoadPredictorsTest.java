package dev.baton.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoadPredictorsTest {

    private static LoadPredictor create(String hocon) {
        return LoadPredictors.create(ConfigFactory.parseString(hocon));
    }

    private static void assertClean(Load l) {
        for (double v : new double[] {l.requestRate(), l.promptTokens(), l.effectivePromptTokens(), l.effectivePromptTokensHi(),
                l.outputTokens()}) {
            assertTrue(Double.isFinite(v) && v >= 0, () -> "not a clean load: " + l);
        }
    }

    /** Mean absolute error of the one-interval-ahead rate forecast over a ramp of +1 request/s per interval. */
    private static double rampError(LoadPredictor p) {
        double err = 0;
        for (int i = 1; i <= 30; i++) {
            if (i > 10) {
                err += Math.abs(p.forecast().requestRate() - i);
            }
            p = p.observe(Synthetic.load(i, 1000, 0.25, 200));
            assertClean(p.forecast());
        }
        return err / 20;
    }

    @Test
    void holtFollowsARampWithLessLagThanEwma() {
        double holt = rampError(create("kind = holt, alpha = 0.5, beta = 0.3"));
        double ewma = rampError(create("kind = ewma, alpha = 0.5"));
        double last = rampError(create("kind = last"));
        assertTrue(holt < 0.1, "Holt lags a linear ramp by " + holt);
        assertEquals(2, ewma, 0.01, "EWMA(0.5) lags a ramp of slope 1 by (1 - alpha) / alpha + 1 interval");
        assertEquals(1, last, 1e-9);
        assertTrue(holt < last && last < ewma);
    }

    @ParameterizedTest
    @ValueSource(strings = {"kind = holt", "kind = ewma", "kind = last", "kind = ewma, alpha = 0.1", "kind = holt, alpha = 0.1, beta = 0.9"})
    void zeroTrafficForecastsExactlyZeroWithinABoundedNumberOfIntervals(String hocon) {
        LoadPredictor p = create(hocon);
        for (int i = 0; i < 20; i++) {
            p = p.observe(Synthetic.load(500 + 50 * i, 1000, 0.5, 200)); // busy and rising
        }
        assertTrue(p.forecast().requestRate() > 500);
        int intervals = 0;
        while (p.forecast().requestRate() > 0 && intervals < 1000) {
            p = p.observe(Load.ZERO);
            assertClean(p.forecast());
            intervals++;
        }
        assertEquals(0, p.forecast().requestRate(), hocon + ": never reached zero");
        assertTrue(intervals <= 300, hocon + ": " + intervals + " idle intervals to reach zero");
        assertEquals(1000, p.forecast().promptTokens(), 1e-6, "lengths are kept while idle (they cost nothing at rate 0)");
        Load l = p.forecast();
        assertEquals(0, l.effectivePromptTokensPerSecond());
        assertEquals(0, l.outputTokensPerSecond());
    }

    @Test
    void holtDropsItsTrendAtOnceWhenTrafficStops() {
        LoadPredictor p = create("kind = holt");
        for (int i = 1; i <= 10; i++) {
            p = p.observe(Synthetic.load(i, 1000, 0, 200));
        }
        assertEquals(0, p.observe(Load.ZERO).forecast().requestRate());
    }

    @Test
    void emptyIntervalsFromTheStartAreNeverNaN() {
        for (String kind : new String[] {"holt", "ewma", "last"}) {
            LoadPredictor p = create("kind = " + kind);
            assertEquals(Load.ZERO, p.forecast());
            Observation empty = new Observation(10_000, 10, 0, Summary.EMPTY, Summary.EMPTY, Summary.EMPTY, Summary.EMPTY,
                    Summary.EMPTY, java.util.Map.of());
            for (int i = 0; i < 10; i++) {
                p = p.observe(empty.load(0.9));
                assertEquals(Load.ZERO, p.forecast(), kind);
            }
            p = p.observe(Synthetic.load(2, 100, 0, 10));
            assertClean(p.forecast());
            assertTrue(p.forecast().requestRate() > 0, kind);
        }
    }

    @Test
    void ewmaKeepsTheLengthsOfTheLastBusyIntervalsWhileIdle() {
        LoadPredictor p = create("kind = ewma, alpha = 0.5").observe(Synthetic.load(4, 800, 0.5, 100));
        p = p.observe(Load.ZERO);
        assertEquals(2, p.forecast().requestRate(), 1e-9);
        assertEquals(800, p.forecast().promptTokens(), 1e-9);
        assertEquals(400, p.forecast().effectivePromptTokens(), 1e-9);
        assertEquals(100, p.forecast().outputTokens(), 1e-9);
    }

    /** A predictor from outside Baton: always the same rate. */
    public static final class Fixed implements LoadPredictor {
        private final double rate;

        public Fixed(Config block) {
            rate = block.getDouble("rate");
        }

        @Override
        public LoadPredictor observe(Load observed) {
            return this;
        }

        @Override
        public Load forecast() {
            return Synthetic.load(rate, 1000, 0, 200);
        }

        @Override
        public String name() {
            return "fixed";
        }
    }

    /** Implements the interface but has no constructor taking a Config. */
    public static final class NoConfig implements LoadPredictor {
        public NoConfig() {}

        @Override
        public LoadPredictor observe(Load observed) {
            return this;
        }

        @Override
        public Load forecast() {
            return Load.ZERO;
        }

        @Override
        public String name() {
            return "none";
        }
    }

    @Test
    void aCustomPredictorIsFoundByClassName() {
        LoadPredictor p = create("kind = \"" + Fixed.class.getName() + "\", rate = 7");
        assertInstanceOf(Fixed.class, p);
        assertEquals(7, p.observe(Load.ZERO).forecast().requestRate());
        PlannerSettings s = Synthetic.settings("predictor { kind = \"" + Fixed.class.getName() + "\", rate = 3 }");
        assertEquals("fixed", PlannerState.initial(s).predictor().name());
    }

    @Test
    void badClassNamesAreRefused() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> create("kind = com.example.NoSuchPredictor"));
        assertTrue(missing.getMessage().contains("'com.example.NoSuchPredictor' is not holt, ewma, last or a class on the class path"),
                missing.getMessage());
        IllegalArgumentException notOne = assertThrows(IllegalArgumentException.class, () -> create("kind = java.lang.String"));
        assertEquals("java.lang.String does not implement dev.baton.planner.LoadPredictor", notOne.getMessage());
        IllegalArgumentException noCtor = assertThrows(IllegalArgumentException.class,
                () -> create("kind = \"" + NoConfig.class.getName() + "\""));
        assertTrue(noCtor.getMessage().contains("needs a public constructor taking a com.typesafe.config.Config"), noCtor.getMessage());
        IllegalArgumentException failing = assertThrows(IllegalArgumentException.class,
                () -> create("kind = \"" + Fixed.class.getName() + "\""));
        assertTrue(failing.getMessage().startsWith(Fixed.class.getName() + ": "), failing.getMessage());
        assertTrue(failing.getMessage().contains("rate"), failing.getMessage());
        PlannerConfigException inSettings = assertThrows(PlannerConfigException.class,
                () -> Synthetic.settings("predictor.kind = java.lang.String"));
        assertTrue(inSettings.getMessage().startsWith("baton.planner.predictor: java.lang.String does not implement"), inSettings.getMessage());
    }
}
