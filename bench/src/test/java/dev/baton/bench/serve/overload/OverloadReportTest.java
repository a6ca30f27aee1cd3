package dev.baton.bench.serve.overload;

import static dev.baton.bench.serve.overload.PhaseStatsTest.failed;
import static dev.baton.bench.serve.overload.PhaseStatsTest.refused;
import static dev.baton.bench.serve.overload.PhaseStatsTest.served;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.bench.serve.metrics.RequestRecord;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class OverloadReportTest {

    /** {@code good} requests within the SLO over 10 s, plus {@code extra}. */
    static PhaseStats phase(String name, int good, List<RequestRecord> extra) {
        List<RequestRecord> records = new ArrayList<>(Collections.nCopies(good, served(100, 8, true)));
        records.addAll(extra);
        return PhaseStats.of(name, "rate", records, 10, 10);
    }

    static List<OverloadReport.PrefillCheck> prefill(long... computed) {
        return List.of(new OverloadReport.PrefillCheck("capacity", computed[0], 2000),
                new OverloadReport.PrefillCheck("overload", computed[1], 1900),
                new OverloadReport.PrefillCheck("recovery", computed[2], 2000));
    }

    static OverloadReport.Goal goal(OverloadReport r, String name) {
        return r.goals().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void shouldMeetEveryGoalWhenOverloadKeepsGoodputAndRefusesFastWithRetryAfter() {
        OverloadReport r = OverloadReport.of(2, "given", 10, null, List.of(phase("capacity", 20, List.of()),
                phase("overload", 19, List.of(refused(503, 4, "2"), refused(503, 12, "1"))), phase("recovery", 20, List.of())),
                prefill(2000, 1900, 2000), OverloadReport.Memory.UNKNOWN);
        assertEquals(0.95, r.goodputRatio(), 1e-12);
        assertEquals(0.95, r.completedRatio(), 1e-12);
        assertEquals(1.0, r.recoveryRatio(), 1e-12);
        assertTrue(r.allMeasuredGoalsMet(), r.goals().toString());
        assertEquals("2 of 2", goal(r, "refusals with Retry-After").measured());
        assertEquals("12.0 ms", goal(r, "slowest refusal").measured());
    }

    @Test
    void shouldFailTheGoodputGoalBelowNinetyPercent() {
        OverloadReport r = OverloadReport.of(2, "given", 10, null, List.of(phase("capacity", 20, List.of()),
                phase("overload", 17, List.of()), phase("recovery", 20, List.of())), prefill(0, 0, 0), OverloadReport.Memory.UNKNOWN);
        assertEquals(0.85, r.goodputRatio(), 1e-12);
        assertEquals(false, goal(r, "goodput during overload").met());
        assertEquals("85.0%", goal(r, "goodput during overload").measured());
        assertFalse(r.allMeasuredGoalsMet());
    }

    @Test
    void shouldTellGoodputLostToTheSloFromThroughputLost() {
        List<RequestRecord> late = Collections.nCopies(10, served(100, 8, false));
        OverloadReport r = OverloadReport.of(2, "given", 10, null, List.of(phase("capacity", 20, List.of()),
                phase("overload", 10, late), phase("recovery", 20, List.of())), prefill(0, 0, 0), OverloadReport.Memory.UNKNOWN);
        assertEquals(0.5, r.goodputRatio(), 1e-12);
        assertEquals(1.0, r.completedRatio(), 1e-12, "as many completed, half of them past the SLO");
    }

    @Test
    void shouldFailOnARefusalWithoutRetryAfterASlowRefusalAndOtherAnswers() {
        OverloadReport r = OverloadReport.of(2, "given", 10, null, List.of(phase("capacity", 20, List.of(failed("io", 0))),
                phase("overload", 20, List.of(refused(429, 80, null), refused(503, 3, "1"))),
                phase("recovery", 20, List.of(failed("stream_error", 200)))), prefill(0, 0, 0), OverloadReport.Memory.UNKNOWN);
        assertEquals(false, goal(r, "refusals with Retry-After").met());
        assertEquals("1 of 2", goal(r, "refusals with Retry-After").measured());
        assertEquals(false, goal(r, "slowest refusal").met());
        assertEquals("1", goal(r, "other answers or none").measured());
        assertEquals(false, goal(r, "admitted requests that failed").met());
    }

    @Test
    void shouldCountPromptTokensComputedBeyondTheAdmittedOnesAndSayUnknownWithoutMetrics() {
        List<PhaseStats> phases = List.of(phase("capacity", 20, List.of()), phase("overload", 20, List.of()),
                phase("recovery", 20, List.of()));
        OverloadReport over = OverloadReport.of(2, "given", 10, null, phases, prefill(2000, 2400, 1500),
                OverloadReport.Memory.UNKNOWN);
        assertEquals("500", goal(over, "prompt tokens computed beyond admitted prompts").measured(),
                "overload computed 500 more than its admitted 1,900; fewer (cache hits) is no excess");
        assertEquals(false, goal(over, "prompt tokens computed beyond admitted prompts").met());
        OverloadReport unknown = OverloadReport.of(2, "given", 10, null, phases, prefill(-1, -1, -1),
                OverloadReport.Memory.UNKNOWN);
        assertNull(goal(unknown, "prompt tokens computed beyond admitted prompts").met());
        assertTrue(unknown.allMeasuredGoalsMet(), "an unknown goal is not a failed one");
    }

    @Test
    void shouldLeaveRatiosUndefinedWhenNothingWasServedAtCapacity() {
        OverloadReport r = OverloadReport.of(2, "given", 10, null, List.of(phase("capacity", 0, List.of()),
                phase("overload", 5, List.of()), phase("recovery", 5, List.of())), prefill(0, 0, 0), OverloadReport.Memory.UNKNOWN);
        assertTrue(Double.isNaN(r.goodputRatio()));
        assertNull(goal(r, "goodput during overload").met());
        assertEquals("no refusal", goal(r, "slowest refusal").measured());
    }

    @Test
    void shouldNeedThreePhases() {
        assertThrows(IllegalArgumentException.class, () -> OverloadReport.of(2, "given", 10, null,
                List.of(phase("capacity", 1, List.of())), prefill(0, 0, 0), OverloadReport.Memory.UNKNOWN));
    }
}
