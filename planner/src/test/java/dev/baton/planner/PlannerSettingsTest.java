package dev.baton.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PlannerSettingsTest {

    private static PlannerSettings parse(String hocon) {
        return PlannerSettings.from(ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve());
    }

    @Test
    void theDefaultsParse() {
        PlannerSettings s = PlannerSettings.from(ConfigFactory.defaultReference());
        assertEquals(Mode.OFF, s.mode());
        assertEquals("local", s.connector());
        assertNull(s.profile());
        assertEquals(Duration.ofSeconds(10), s.interval());
        assertEquals(new Objectives(500, 50, 90), s.objectives());
        assertEquals(new PlannerSettings.Bounds(1, 4), s.bounds().get(Pool.PREFILL));
        assertEquals(new PlannerSettings.Bounds(1, 4), s.bounds().get(Pool.DECODE));
        assertFalse(s.bounds().get(Pool.WORKER).planned());
        assertFalse(s.colocated());
        assertEquals(8, s.nodeBudget());
        assertEquals(2, s.maxStep());
        assertEquals(Duration.ofSeconds(20), s.scaleUpWindow());
        assertEquals(Duration.ofSeconds(30), s.scaleUpCooldown());
        assertEquals(Duration.ofMinutes(2), s.scaleDownWindow());
        assertEquals(Duration.ofMinutes(1), s.scaleDownCooldown());
        assertEquals(Duration.ofMinutes(3), s.pendingTimeout());
        assertEquals("holt", PlannerState.initial(s).predictor().name());
        assertEquals(new PlannerSettings.Correction(0.5, 4.0, 0.5, 20), s.correction());
        assertEquals(0.9, s.maxUtilization());
        assertNull(s.traceFile());
    }

    @Test
    void actWithAProfileParses() {
        PlannerSettings s = parse("baton.planner { mode = act, connector = kubernetes, profile = \"run/p.json\", "
                + "objectives { ttft = 1s, itl = 20ms, percentile = 99.5 }, trace-file = \"t.jsonl\" }");
        assertEquals(Mode.ACT, s.mode());
        assertEquals("kubernetes", s.connector());
        assertEquals(Path.of("run/p.json"), s.profile());
        assertEquals(new Objectives(1000, 20, 99.5), s.objectives());
        assertEquals(Path.of("t.jsonl"), s.traceFile());
    }

    /** Each bad value is refused, and the message names the key in full, then what is wrong with it. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            mode = fast                                          | baton.planner.mode:               | 'fast' is not one of off, advise, act
            connector = docker                                   | baton.planner.connector:          | 'docker' is not one of local, ssh, kubernetes
            mode = act                                           | baton.planner.profile:            | required when mode = act
            mode = advise                                        | baton.planner.profile:            | required when mode = advise
            interval = -10s                                      | baton.planner.interval:           | must be positive
            interval = 0s                                        | baton.planner.interval:           | must be positive
            scale-up.window = -1s                                | baton.planner.scale-up.window:    | must not be negative
            scale-up.cooldown = -1s                              | baton.planner.scale-up.cooldown:  | must not be negative
            scale-down.window = -2m                              | baton.planner.scale-down.window:  | must not be negative
            scale-down.cooldown = -1m                            | baton.planner.scale-down.cooldown: | must not be negative
            pending-timeout = -3m                                | baton.planner.pending-timeout:    | must be positive
            objectives.ttft = -500ms                             | baton.planner.objectives.ttft:    | must be positive
            objectives.itl = 0ms                                 | baton.planner.objectives.itl:     | must be positive
            objectives.percentile = 100                          | baton.planner.objectives:         | percentile 100.0 must be in [50, 100)
            objectives.percentile = 40                           | baton.planner.objectives:         | percentile 40.0 must be in [50, 100)
            pools.prefill { min = 3, max = 2 }                   | baton.planner.pools.prefill:      | min 3 and max 2
            pools.decode.min = -1                                | baton.planner.pools.decode:       | min -1 and max 4
            pools.worker.max = many                              | baton.planner.pools.worker.max:   | has type STRING rather than NUMBER
            node-budget = 1                                      | baton.planner.node-budget:        | 1 is less than the pools' minimums together (2)
            max-step = 0                                         | baton.planner.max-step:           | 0 must be at least 1
            predictor.kind = arima                               | baton.planner.predictor:          | kind 'arima' is not holt, ewma, last or a class
            predictor.alpha = 1.5                                | baton.planner.predictor:          | alpha 1.5 must be in (0, 1]
            predictor.beta = 0                                   | baton.planner.predictor:          | beta 0.0 must be in (0, 1]
            correction.min = 1.5                                 | baton.planner.correction:         | got min 1.5
            correction.max = 0.8                                 | baton.planner.correction:         | max 0.8
            correction.smoothing = 0                             | baton.planner.correction:         | smoothing 0.0 must be in (0, 1]
            correction.min-samples = 0                           | baton.planner.correction:         | min-samples 0 must be at least 1
            max-utilization = 1                                  | baton.planner.max-utilization:    | 1.0 must be in (0, 1)
            interval = soon                                      | baton.planner.interval:           | soon
            """)
    void aBadValueIsRefusedWithItsKey(String setting, String key, String what) {
        String hocon = setting.startsWith("mode") ? "baton.planner { " + setting + " }"
                : "baton.planner { mode = advise, profile = p.json }\nbaton.planner { " + setting + " }";
        PlannerConfigException e = assertThrows(PlannerConfigException.class, () -> parse(hocon));
        assertTrue(e.getMessage().startsWith(key.trim()), () -> "'" + e.getMessage() + "' does not start with " + key.trim());
        assertTrue(e.getMessage().contains(what.trim()), () -> "'" + e.getMessage() + "' does not say " + what.trim());
    }

    @Test
    void nothingToPlanIsRefused() {
        PlannerConfigException e = assertThrows(PlannerConfigException.class, () -> parse(
                "baton.planner { mode = advise, profile = p.json, pools { prefill.max = 0, prefill.min = 0, decode.max = 0, decode.min = 0 } }"));
        assertEquals("baton.planner.pools: every pool has max = 0; nothing to plan", e.getMessage());
    }

    @Test
    void offNeedsNoProfileAndAcceptsTheColocatedPools() {
        PlannerSettings s = parse("baton.planner { pools { prefill { min = 0, max = 0 }, decode { min = 0, max = 0 }, "
                + "worker { min = 1, max = 3 } } }");
        assertTrue(s.colocated());
        assertEquals(3, s.bounds().get(Pool.WORKER).max());
    }
}
