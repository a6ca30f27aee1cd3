package dev.baton.bench.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.bench.serve.metrics.ErrorKind;
import dev.baton.bench.serve.metrics.RequestResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChaosReportTest {

    static final List<String> EXPECTED = List.of("alpha beta gamma", "one two three");
    static final ChaosReport.RecoveryRule RULE = new ChaosReport.RecoveryRule(2000, 500, 0.8);

    /** A request sent at {@code startMs} whose chunks arrive 10 ms apart, one per character. */
    static ChaosLoad.Outcome outcome(int prompt, long startMs, String text, ErrorKind error, int status) {
        long[] ns = new long[text.length()];
        for (int i = 0; i < ns.length; i++) {
            ns[i] = (startMs + 10L * (i + 1)) * 1_000_000L;
        }
        return new ChaosLoad.Outcome(prompt, startMs, new RequestResult(startMs * 1_000_000L, (startMs + 200) * 1_000_000L, ns,
                text, null, error, status, error == null ? null : "failed"));
    }

    @Test
    void shouldCountServedFailedAndCorruptStreams() {
        List<ChaosLoad.Outcome> o = new ArrayList<>();
        o.add(outcome(0, 0, "alpha beta gamma", null, 200));
        o.add(outcome(1, 100, "one two three", null, 200));
        o.add(outcome(1, 200, "one two", ErrorKind.STREAM_ERROR, 200)); // failed visibly, nothing wrong delivered
        o.add(outcome(0, 300, "", ErrorKind.HTTP, 503));
        o.add(outcome(0, 400, "alpha gamma", null, 200)); // gap
        o.add(outcome(1, 500, "one two two three", null, 200)); // repeat
        ChaosReport r = ChaosReport.build(Map.of("load", "test"), 0, 3000, EXPECTED, o, List.of(), RULE, Map.of("node-lost", 2.0),
                Map.of("decode-1", 0, "prefill-1", 0), true);
        assertEquals(6, r.requests());
        assertEquals(2, r.served());
        assertEquals(Map.of("stream_error", 1, "http_503", 1), r.failures());
        assertEquals(2, r.failed());
        assertEquals(1, r.gaps());
        assertEquals(1, r.repeats());
        assertEquals(0, r.different());
        assertEquals(2, r.corrupt().size());
        assertEquals(StreamCheck.Kind.GAP, r.corrupt().get(0).check().kind());
        assertFalse(r.ok(), "a gap or a repeat fails the run");
        assertTrue(r.table().contains("FAIL"), r.table());
    }

    @Test
    void shouldPassAnIntactRunAndFailOneThatLeaksBlocksOrDoesNotGoIdle() {
        List<ChaosLoad.Outcome> o = List.of(outcome(0, 0, "alpha beta gamma", null, 200));
        assertTrue(ChaosReport.build(Map.of(), 0, 1000, EXPECTED, o, List.of(), RULE, Map.of(), Map.of("d", 0), true).ok());
        ChaosReport leak = ChaosReport.build(Map.of(), 0, 1000, EXPECTED, o, List.of(), RULE, Map.of(), Map.of("d", 3), true);
        assertEquals(3, leak.leakedTotal());
        assertFalse(leak.ok());
        assertFalse(ChaosReport.build(Map.of(), 0, 1000, EXPECTED, o, List.of(), RULE, Map.of(), Map.of(), false).ok());
    }

    @Test
    void shouldGiveEachFaultItsRecoveryTime() {
        // a chunk every 10 ms from 0 to 1 s and from 1.6 s to 4 s: the fault at 1 s stops the stream for 0.6 s
        List<ChaosLoad.Outcome> o = new ArrayList<>();
        for (int t = 0; t < 4000; t += 200) {
            if (t < 1000 || t >= 1600) {
                o.add(outcome(1, t - 10, "one two three".substring(0, 13), null, 200));
            }
        }
        ChaosReport.FaultEvent kill = new ChaosReport.FaultEvent("kill", "decode-1", "decode", 1000, 0, "decode-3", 4200);
        ChaosReport r = ChaosReport.build(Map.of(), 0, 4000, EXPECTED, o, List.of(kill), RULE, Map.of(), Map.of(), true);
        assertEquals(1, r.faults().size());
        ChaosReport.Fault f = r.faults().get(0);
        assertEquals(kill, f.event());
        // 65 chunks/s before; [1.5 s, 2 s) has 26 chunks (52/s = 80 %); every window starting earlier has fewer
        assertEquals(500, f.recoveryMs());
        assertEquals(65.0, f.preFaultPerSecond(), 1e-9);
        assertTrue(f.preFaultPerSecond() > 0);
        assertTrue(r.table().contains("decode-3"), r.table());
    }
}
