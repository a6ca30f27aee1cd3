package dev.baton.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CapacityModelTest {

    @TempDir
    Path dir;

    /** One {@code Stats} object as the bench's JSON report writes it (NaN as null). */
    private static String stats(int count, double median) {
        if (count == 0) {
            return "{\"count\" : 0, \"mean\" : null, \"std\" : null, \"min\" : null, \"median\" : null, \"p90\" : null, "
                    + "\"p99\" : null, \"max\" : null}";
        }
        return String.format(Locale.ROOT, "{\"count\" : %d, \"mean\" : %s, \"std\" : %s, \"min\" : %s, \"median\" : %s, "
                + "\"p90\" : %s, \"p99\" : %s, \"max\" : %s}", count, median * 1.02, median * 0.05, median * 0.9, median,
                median * 1.1, median * 1.2, median * 1.25);
    }

    private static String prefillPoint(int tokens, int requests, int failed, double median) {
        int count = requests - failed;
        return String.format(Locale.ROOT, "{\"inputTokens\" : %d, \"requests\" : %d, \"failed\" : %d, \"ttftMs\" : %s, "
                + "\"prefillTokensPerSecond\" : %s, \"prefillTokensPerSecondPerNode\" : %s}", tokens, requests, failed,
                stats(count, median), count == 0 ? "null" : Double.toString(tokens * 1000 / median),
                count == 0 ? "null" : Double.toString(tokens * 1000 / median));
    }

    private static String decodePoint(int concurrency, int context, int requests, int failed, double itl) {
        int count = requests - failed;
        return String.format(Locale.ROOT, "{\"concurrency\" : %d, \"contextTokens\" : %d, \"outputTokens\" : 64, \"requests\" : %d, "
                + "\"failed\" : %d, \"itlMs\" : %s, \"tpotMs\" : %s, \"ttftMs\" : %s, \"tokensPerSecondPerUser\" : %s, "
                + "\"decodeTokensPerSecond\" : %s, \"decodeTokensPerSecondPerNode\" : %s, \"outputTokensPerSecond\" : %s}",
                concurrency, context, requests, failed, stats(count, itl), stats(count, itl), stats(count, 50),
                count == 0 ? "null" : Double.toString(1000 / itl), count == 0 ? "null" : Double.toString(concurrency * 1000 / itl),
                count == 0 ? "null" : Double.toString(concurrency * 1000 / itl), count == 0 ? "null" : Double.toString(concurrency * 900 / itl));
    }

    /**
     * The synthetic profile in the JSON shape of bench's {@code Profile}, plus points that must be dropped: one
     * with a failed request, one with no samples (every figure null).
     */
    private static String profileJson(int nodes) {
        StringBuilder b = new StringBuilder();
        b.append("{\n  \"version\" : 1,\n  \"target\" : \"node\",\n  \"baseUrl\" : \"http://127.0.0.1:8080/v1\",\n")
                .append("  \"model\" : \"synthetic\",\n  \"nodes\" : ").append(nodes)
                .append(",\n  \"api\" : \"chat\",\n  \"exactPrompts\" : true,\n  \"prefill\" : [ ");
        String sep = "";
        for (int l : Synthetic.PROMPTS) {
            b.append(sep).append(prefillPoint(l, 8, 0, Synthetic.prefillMs(l)));
            sep = ", ";
        }
        b.append(sep).append(prefillPoint(8192, 8, 1, 1.0)); // a failure: dropped, or 8192 tokens would take 1 ms
        b.append(sep).append(prefillPoint(16384, 8, 8, 0)); // nothing measured
        b.append(" ],\n  \"decode\" : [ ");
        sep = "";
        for (int ctx : Synthetic.CONTEXTS) {
            for (int c : Synthetic.STREAMS) {
                b.append(sep).append(decodePoint(c * nodes, ctx, 16, 0, Synthetic.itlMs(c, ctx)));
                sep = ", ";
            }
        }
        b.append(sep).append(decodePoint(64 * nodes, 512, 16, 2, 1.0));
        b.append(sep).append(decodePoint(128 * nodes, 512, 16, 16, 0));
        return b.append(" ]\n}\n").toString();
    }

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void readsTheBenchProfileShapeAndDropsFailedAndEmptyPoints() throws IOException {
        CapacityProfile p = CapacityProfile.read(write("profile.json", profileJson(1)));
        assertEquals("synthetic", p.model());
        assertEquals(1, p.nodes());
        assertEquals(Synthetic.PROMPTS.length, p.prefill().size());
        assertEquals(Synthetic.CONTEXTS.length * Synthetic.STREAMS.length, p.decode().size());
        assertEquals(4096, p.prefill().get(p.prefill().size() - 1).inputTokens());
        assertEquals(new CapacityProfile.Latency(Synthetic.prefillMs(512), 1.1 * Synthetic.prefillMs(512), 1.2 * Synthetic.prefillMs(512)),
                p.prefill().get(2).ttftMs());
        assertTrue(p.decode().stream().allMatch(d -> d.concurrency() <= 32));
    }

    @Test
    void aProfileOfSeveralNodesGivesTheSameCapacityPerNode() throws IOException {
        CapacityModel one = new CapacityModel(CapacityProfile.read(write("one.json", profileJson(1))));
        CapacityModel two = new CapacityModel(CapacityProfile.read(write("two.json", profileJson(2))));
        Load l = Synthetic.load(10, 1000, 0, 200);
        assertEquals(one.decodeTokensPerSecond(l, 50, 0.9), two.decodeTokensPerSecond(l, 50, 0.9), 1e-6);
        assertEquals(one.itlMs(8, 1000, 0.9), two.itlMs(8, 1000, 0.9), 1e-9);
    }

    @Test
    void interpolatesBetweenPointsAndExtrapolatesPastThem() {
        CapacityModel m = Synthetic.model();
        // The profile is linear in prompt length, so interpolation and extrapolation give the line itself.
        assertEquals(Synthetic.prefillMs(768), m.prefillMs(768, 0.5), 1e-9);
        assertEquals(1.1 * Synthetic.prefillMs(3000), m.prefillMs(3000, 0.9), 1e-9);
        assertEquals(Synthetic.prefillMs(8192), m.prefillMs(8192, 0.5), 1e-9);
        // Between p50 and p90, and between p90 and p99.
        assertEquals(1.05 * Synthetic.prefillMs(1024), m.prefillMs(1024, 0.7), 1e-9);
        assertEquals(1.15 * Synthetic.prefillMs(1024), m.prefillMs(1024, 0.945), 1e-9);
        // Below the first point it shrinks along the first segment, never under a fifth of the first point.
        assertEquals(Synthetic.prefillMs(1), m.prefillMs(1, 0.5), 1e-9);
        CapacityModel steep = new CapacityModel(new CapacityProfile("steep", 1, java.util.List.of(
                new CapacityProfile.PrefillPoint(1000, Synthetic.spread(100)), new CapacityProfile.PrefillPoint(2000, Synthetic.spread(300))),
                Synthetic.profile().decode()));
        assertEquals(50, steep.prefillMs(750, 0.5), 1e-9);
        assertEquals(20, steep.prefillMs(100, 0.5), 1e-9);
        // Decode: linear in streams within one context, and between contexts.
        assertEquals(Synthetic.itlMs(6, 512), m.itlMs(6, 512, 0.5), 1e-9);
        assertEquals(Synthetic.itlMs(8, 1280), m.itlMs(8, 1280, 0.5), 1e-9);
        assertEquals(Synthetic.itlMs(64, 2048), m.itlMs(64, 2048, 0.5), 1e-9); // past the most streams profiled
        assertEquals(Synthetic.itlMs(8, 512), m.itlMs(8, 100, 0.5), 1e-9); // below the smallest context: that context
        assertEquals(2 * Synthetic.itlMs(8, 512), m.corrected(1, 2).itlMs(8, 512, 0.5), 1e-9);
        assertEquals(3 * Synthetic.prefillMs(512), m.corrected(3, 1).prefillMs(512, 0.5), 1e-9);
    }

    @Test
    void moreStreamsOrMoreContextNeverLowerTheItl() {
        // A measured dip at 8 streams (noise) must not make 8 streams faster than 4.
        CapacityProfile noisy = new CapacityProfile("noisy", 1, Synthetic.profile().prefill(), java.util.List.of(
                new CapacityProfile.DecodePoint(1, 1024, Synthetic.spread(10)),
                new CapacityProfile.DecodePoint(4, 1024, Synthetic.spread(20)),
                new CapacityProfile.DecodePoint(8, 1024, Synthetic.spread(15)),
                new CapacityProfile.DecodePoint(16, 1024, Synthetic.spread(40)),
                new CapacityProfile.DecodePoint(1, 4096, Synthetic.spread(12)),
                new CapacityProfile.DecodePoint(16, 4096, Synthetic.spread(70))));
        for (CapacityModel m : new CapacityModel[] {Synthetic.model(), new CapacityModel(noisy)}) {
            for (double ctx : new double[] {256, 1024, 3000, 8192, 20000}) {
                double previous = 0;
                for (double c = 1; c <= 64; c += 0.5) {
                    double itl = m.itlMs(c, ctx, 0.9);
                    assertTrue(itl >= previous - 1e-9, "ITL fell from " + previous + " to " + itl + " at " + c + " streams, context " + ctx);
                    previous = itl;
                }
            }
            for (double c : new double[] {1, 4, 16}) {
                double previous = 0;
                for (double ctx = 128; ctx <= 16384; ctx *= 1.5) {
                    double itl = m.itlMs(c, ctx, 0.9);
                    assertTrue(itl >= previous - 1e-9, "ITL fell with more context at " + ctx);
                    previous = itl;
                }
            }
        }
    }

    @Test
    void longerPromptsGiveSensiblePrefillCapacity() {
        CapacityModel m = Synthetic.model();
        double previousRequests = Double.MAX_VALUE;
        for (int len : new int[] {128, 256, 512, 1024, 2048}) {
            Load l = new Load(1, len, len, len, 100);
            double tokens = m.prefillTokensPerSecond(l, 500, 0.9, 0.9);
            double requests = tokens / len;
            assertTrue(tokens > 0 && tokens < 10_000, "a node cannot beat 0.1 ms per token: " + tokens);
            // At most max-utilization of what the node computes alone; the rest of the TTFT budget is queueing.
            assertTrue(tokens <= 0.9 * len * 1000 / Synthetic.prefillMs(len) + 1e-6, "above the node's own rate at " + len);
            assertEquals(m.prefillUtilization(l, 500, 0.9, 0.9) * len * 1000 / Synthetic.prefillMs(len), tokens, 1e-6);
            assertTrue(requests < previousRequests, "longer prompts must mean fewer requests per second");
            assertTrue(m.prefillUtilization(l, 500, 0.9, 0.9) <= 0.9);
            previousRequests = requests;
        }
        // 4096 tokens take 420 ms alone (p90 451 ms): the objective is reachable, barely; 8192 tokens are not.
        assertTrue(m.prefillReachable(new Load(1, 4096, 4096, 4096, 1), 500, 0.9));
        assertTrue(!m.prefillReachable(new Load(1, 8192, 8192, 8192, 1), 500, 0.9));
        assertTrue(m.prefillTokensPerSecond(new Load(1, 8192, 8192, 8192, 1), 500, 0.9, 0.9) > 0);
    }

    @Test
    void theExpectedLatencyAtThePlannedNodeCountMeetsTheObjective() {
        PlannerSettings s = Synthetic.settings("pools.prefill.max = 50\npools.decode.max = 50\nnode-budget = 100");
        CapacityModel m = Synthetic.model();
        double q = s.objectives().quantile();
        for (double rate : new double[] {0.5, 3, 10, 40}) {
            for (double cached : new double[] {0, 0.5}) {
                for (double out : new double[] {50, 200, 800}) {
                    Load l = Synthetic.load(rate, 1000, cached, out);
                    Observation o = Synthetic.observation(10_000, 10, l, Synthetic.sizes(1, 1), Summary.EMPTY, Summary.EMPTY);
                    Decision d = Planner.decide(o, l, l, m, s, PlannerState.initial(s));
                    int prefill = d.pools().get(Pool.PREFILL).desired();
                    int decode = d.pools().get(Pool.DECODE).desired();
                    String what = rate + " req/s, " + cached + " cached, " + out + " out: " + d.reasons();
                    assertTrue(m.expectedTtftMs(l, prefill, q) <= s.objectives().ttftMs() * 1.0001, what);
                    assertTrue(m.expectedItlMs(l, decode, q) <= s.objectives().itlMs() * 1.0001, what);
                    if (d.pools().get(Pool.PREFILL).required() > 1) {
                        assertTrue(m.expectedTtftMs(l, prefill - 1, q) > s.objectives().ttftMs(), "one prefill node fewer would do: " + what);
                    }
                    if (d.pools().get(Pool.DECODE).required() > 1) {
                        assertTrue(m.expectedItlMs(l, decode - 1, q) > s.objectives().itlMs(), "one decode node fewer would do: " + what);
                    }
                }
            }
        }
        assertEquals(0, m.expectedTtftMs(Load.ZERO, 1, q));
        assertEquals(0, m.expectedItlMs(Load.ZERO, 1, q));
        assertEquals(Double.POSITIVE_INFINITY, m.expectedTtftMs(Synthetic.load(1, 1000, 0, 10), 0, q));
    }

    @Test
    void aMissingCorruptOrEmptyProfileIsRefusedNamingTheFile() throws IOException {
        Path missing = dir.resolve("nope.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CapacityProfile.read(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());

        Path corrupt = write("corrupt.json", "{\"prefill\": [ {\"inputTokens\": 12");
        e = assertThrows(IllegalArgumentException.class, () -> CapacityProfile.read(corrupt));
        assertTrue(e.getMessage().startsWith("capacity profile " + corrupt + ": "), e.getMessage());

        Path empty = write("empty.json", "");
        e = assertThrows(IllegalArgumentException.class, () -> CapacityProfile.read(empty));
        assertTrue(e.getMessage().startsWith("capacity profile " + empty + ": "), e.getMessage());

        Path array = write("array.json", "[1, 2]");
        e = assertThrows(IllegalArgumentException.class, () -> CapacityProfile.read(array));
        assertTrue(e.getMessage().contains(array.toString()) && e.getMessage().contains("JSON object"), e.getMessage());

        Path noDecode = write("nodecode.json", profileJson(1).replaceAll("(?s)\"decode\" : \\[.*\\]", "\"decode\" : []"));
        e = assertThrows(IllegalArgumentException.class, () -> CapacityProfile.read(noDecode));
        assertTrue(e.getMessage().contains(noDecode.toString()) && e.getMessage().contains("has 6 and 0 usable ones"), e.getMessage());

        Path allFailed = write("failed.json", "{\"nodes\": 1, \"prefill\": [" + prefillPoint(512, 4, 4, 0) + "], \"decode\": ["
                + decodePoint(1, 512, 4, 1, 10) + "]}");
        e = assertThrows(IllegalArgumentException.class, () -> CapacityProfile.read(allFailed));
        assertTrue(e.getMessage().contains("has 0 and 0 usable ones"), e.getMessage());
    }
}
