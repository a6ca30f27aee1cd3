package dev.baton.bench.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.planner.CapacityModel;
import dev.baton.planner.CapacityProfile;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.RequestTrace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The simulator's invariants and the planner's headline result, on the profile measured on the development host. */
class ClusterSimulatorTest {

    static final Path PROFILE = profile();
    static final CapacityModel MODEL = new CapacityModel(CapacityProfile.read(PROFILE));
    static final PlannerSettings PLANNER = Simulation.plannerSettings(PROFILE, "2s", "35ms", 90, "10s", null);
    static final ClusterSimulator.Settings CLUSTER = ClusterSimulator.Settings.DEFAULT;

    static Path profile() {
        try {
            return Path.of(ClusterSimulatorTest.class.getResource("/plan/profile.json").toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static double peak(TraceGenerator.Mix mix, int nodes) {
        return TraceGenerator.peakRate(MODEL, PLANNER.objectives(), PLANNER.maxUtilization(), mix, nodes);
    }

    /** Poisson arrivals at {@code rate} req/s from {@code from} to {@code to} seconds, balanced lengths. */
    static void phase(List<RequestTrace.Entry> out, SplittableRandom rnd, double from, double to, double rate) {
        double t = from;
        while (rate > 0) {
            t += -Math.log(1 - rnd.nextDouble()) / rate;
            if (t >= to) {
                break;
            }
            int prompt = 128 + rnd.nextInt(384);
            out.add(new RequestTrace.Entry(t, prompt, 0, 16 + rnd.nextInt(160), Double.NaN, Double.NaN));
        }
    }

    @Test
    void fixedAllocationCompletesEveryRequestAndCountsNodeSecondsExactly() {
        List<RequestTrace.Entry> trace = TraceGenerator.generate(new TraceGenerator.Spec("t", TraceGenerator.Shape.STEADY,
                TraceGenerator.Mix.BALANCED, 300, peak(TraceGenerator.Mix.BALANCED, 3), 5));
        ClusterSimulator.Result r = ClusterSimulator.fixed("fixed", trace, MODEL, PLANNER.objectives(), CLUSTER, 10, 3, 4);
        assertTrue(trace.size() > 300, "trace of " + trace.size());
        assertEquals(trace.size(), r.completed());
        assertEquals(300, r.durationS(), 1e-9);
        assertEquals(3 * 300, r.prefillNodeSeconds(), 1e-6);
        assertEquals(4 * 300, r.decodeNodeSeconds(), 1e-6);
        double minPrefill = MODEL.prefillMs(1, 0.5);
        for (int i = 0; i < trace.size(); i++) {
            assertTrue(r.ttftMs()[i] >= minPrefill + CLUSTER.transferMs() - 1e-6, "TTFT " + r.ttftMs()[i] + " of request " + i);
            assertTrue(trace.get(i).output() <= 1 ? Double.isNaN(r.itlMs()[i]) : r.itlMs()[i] > 0, "ITL of request " + i);
        }
        long arrivals = r.series().stream().mapToLong(ClusterSimulator.Interval::arrivals).sum();
        assertEquals(trace.size(), arrivals);
        // one prefill node for this load queues: the attainment falls
        ClusterSimulator.Result starved = ClusterSimulator.fixed("starved", trace, MODEL, PLANNER.objectives(), CLUSTER, 10, 1, 4);
        assertEquals(trace.size(), starved.completed());
        assertTrue(starved.attainment() < r.attainment() - 0.2, starved.attainment() + " vs " + r.attainment());
    }

    @Test
    void plannerScalesUpUnderABurstAndBackDownWhenIdle() {
        List<RequestTrace.Entry> trace = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(3);
        double high = peak(TraceGenerator.Mix.BALANCED, 5);
        phase(trace, rnd, 0, 120, high / 10);
        phase(trace, rnd, 120, 420, high);
        phase(trace, rnd, 420, 900, 0.05); // nearly idle
        trace.add(new RequestTrace.Entry(899, 64, 0, 8, Double.NaN, Double.NaN));
        ClusterSimulator.Result r = ClusterSimulator.planned("planner", trace, MODEL, PLANNER, CLUSTER);
        assertEquals(trace.size(), r.completed());
        assertTrue(r.maxPrefill() >= 3 && r.maxDecode() >= 3, "peak " + r.maxPrefill() + "P" + r.maxDecode() + "D");
        ClusterSimulator.Interval last = r.series().get(r.series().size() - 1);
        assertEquals(1, last.prefillNodes(), "prefill nodes at the end");
        assertEquals(1, last.decodeNodes(), "decode nodes at the end");
        // node-seconds: every node counted from its start (starting included) to its leaving, within the trace
        double fromSeries = 0;
        for (ClusterSimulator.Interval i : r.series()) {
            fromSeries += 10 * (i.prefillNodes() + i.decodeNodes());
        }
        assertEquals(fromSeries, r.nodeSeconds(), 0.1 * fromSeries, "node-seconds against the sampled node counts");
        assertTrue(r.nodeSeconds() < 900.0 * (r.maxPrefill() + r.maxDecode()) * 0.7, "node-s " + r.nodeSeconds());
        // the burst's requests mostly make it once the nodes are up
        ClusterSimulator.Interval lateBurst = r.series().get(35);
        assertTrue(lateBurst.attainment() >= 0.9, "attainment at " + lateBurst.endS() + " s: " + lateBurst.attainment());
    }

    @Test
    void fixedAllocationSizedByTheProfileForThePeakMeetsTheObjectives() {
        List<RequestTrace.Entry> trace = TraceGenerator.generate(new TraceGenerator.Spec("d", TraceGenerator.Shape.DIURNAL,
                TraceGenerator.Mix.BALANCED, 1200, peak(TraceGenerator.Mix.BALANCED, 4), 11));
        int[] peak = Simulation.peakAllocation(trace, MODEL, PLANNER);
        ClusterSimulator.Result r = ClusterSimulator.fixed("peak", trace, MODEL, PLANNER.objectives(), CLUSTER, 10, peak[0], peak[1]);
        assertTrue(peak[0] >= 2 && peak[1] >= 2, "peak allocation " + peak[0] + "P" + peak[1] + "D");
        assertTrue(r.attainment() >= 0.9, "attainment " + r.attainment());
    }

    @Test
    void plannerOnADiurnalTraceMeetsTheObjectivesWithFarFewerNodeSeconds() {
        List<RequestTrace.Entry> trace = TraceGenerator.generate(new TraceGenerator.Spec("diurnal", TraceGenerator.Shape.DIURNAL,
                TraceGenerator.Mix.BALANCED, 1800, peak(TraceGenerator.Mix.BALANCED, 6), 1));
        ClusterSimulator.Result planner = ClusterSimulator.planned("planner", trace, MODEL, PLANNER, CLUSTER);
        ClusterSimulator.Result fixedPeak = ClusterSimulator.fixed("fixed-peak", trace, MODEL, PLANNER.objectives(), CLUSTER, 10,
                planner.maxPrefill(), planner.maxDecode());
        int same = (int) Math.ceil(planner.nodeSeconds() / planner.durationS());
        ClusterSimulator.Result fixedSame = Simulation.bestSplit("fixed-same", same, trace, MODEL, PLANNER.objectives(), CLUSTER, 10);
        String msg = String.format("planner %.4f at %.0f node-s, fixed-peak %s %.4f at %.0f, %s %.4f at %.0f", planner.attainment(),
                planner.nodeSeconds(), fixedPeak.name(), fixedPeak.attainment(), fixedPeak.nodeSeconds(), fixedSame.name(),
                fixedSame.attainment(), fixedSame.nodeSeconds());
        assertTrue(planner.attainment() >= 0.9, msg);
        assertTrue(planner.nodeSeconds() <= 0.7 * fixedPeak.nodeSeconds(), msg);
        assertTrue(fixedSame.nodeSeconds() >= planner.nodeSeconds(), msg);
        assertTrue(planner.attainment() > fixedSame.attainment(), msg);
    }

    @Test
    void sameInputsGiveTheSameResult() {
        List<RequestTrace.Entry> trace = TraceGenerator.generate(new TraceGenerator.Spec("b", TraceGenerator.Shape.BURSTS,
                TraceGenerator.Mix.PREFIX_HEAVY, 600, peak(TraceGenerator.Mix.PREFIX_HEAVY, 3), 9));
        assertEquals(trace, TraceGenerator.generate(new TraceGenerator.Spec("b", TraceGenerator.Shape.BURSTS,
                TraceGenerator.Mix.PREFIX_HEAVY, 600, peak(TraceGenerator.Mix.PREFIX_HEAVY, 3), 9)));
        ClusterSimulator.Result a = ClusterSimulator.planned("a", trace, MODEL, PLANNER, CLUSTER);
        ClusterSimulator.Result b = ClusterSimulator.planned("b", trace, MODEL, PLANNER, CLUSTER);
        assertArrayEquals(a.ttftMs(), b.ttftMs());
        assertArrayEquals(a.itlMs(), b.itlMs());
        assertEquals(a.nodeSeconds(), b.nodeSeconds());
        assertEquals(a.series(), b.series());
    }

    @Test
    void reportHasJsonCsvAndAChartPerTrace(@TempDir Path dir) throws Exception {
        List<RequestTrace.Entry> trace = TraceGenerator.generate(new TraceGenerator.Spec("short", TraceGenerator.Shape.DIURNAL,
                TraceGenerator.Mix.DECODE_HEAVY, 600, peak(TraceGenerator.Mix.DECODE_HEAVY, 3), 2));
        Simulation.Outcome oc = Simulation.compare("short", trace, MODEL, PLANNER, CLUSTER, 0.9);
        List<Path> files = Simulation.write(List.of(oc), PLANNER, CLUSTER, "profile.json", dir);
        for (String f : List.of("simulation.json", "simulation.csv", "short-series.csv", "short.png")) {
            assertTrue(files.contains(dir.resolve(f)) && Files.size(dir.resolve(f)) > 100, f);
        }
        String csv = Files.readString(dir.resolve("simulation.csv"));
        assertTrue(csv.startsWith("trace,run,") && csv.contains("short,planner,") && csv.contains("short,fixed-peak "), csv);
        assertEquals(61, Files.readAllLines(dir.resolve("short-series.csv")).size()); // header and 60 intervals
    }
}
