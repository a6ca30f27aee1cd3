package dev.baton.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SamplerTest {

    /** log of probabilities 0.1, 0.2, 0.3, 0.4 plus a constant: softmax gives them back. */
    private static final float[] FOUR = {(float) Math.log(0.1) + 3, (float) Math.log(0.2) + 3, (float) Math.log(0.3) + 3,
        (float) Math.log(0.4) + 3};
    private static final int DRAWS = 40_000;

    // ---------------------------------------------------------------- greedy

    @Test
    void shouldPickTheArgmaxWhenGreedyWithTiesToTheLowestId() {
        Sampler s = new Sampler(SamplingParams.greedy(), 8);
        assertEquals(2, s.sample(new float[] {1, 0, 3, -1}, 0, 4));
        assertEquals(1, s.sample(new float[] {1, 5, 3, 5}, 0, 4));
    }

    @Test
    void shouldReadLogitsAtTheOffsetAndLeaveThemUnchanged() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).repetitionPenalty(2).build(), 4);
        s.setPrompt(new int[] {1}, 1);
        float[] rows = {9, 9, 9, 9, 0, 4, 3, 1};
        assertEquals(2, s.sample(rows, 4, 4)); // token 1's logit 4 halves to 2, below token 2's 3
        assertArrayEquals(new float[] {9, 9, 9, 9, 0, 4, 3, 1}, rows);
    }

    @Test
    void shouldNeverPickAMaskedToken() {
        Sampler s = new Sampler(SamplingParams.builder().seed(1).build(), 3);
        float[] logits = {Float.NEGATIVE_INFINITY, 0, Float.NEGATIVE_INFINITY};
        for (int i = 0; i < 100; i++) {
            assertEquals(1, s.sample(logits, 0, 3));
            s.accept(1);
        }
    }

    @Test
    void shouldRejectLogitsWithNoFiniteValue() {
        Sampler s = new Sampler(SamplingParams.greedy(), 2);
        assertThrows(IllegalArgumentException.class,
                () -> s.sample(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, 0, 2));
    }

    // ---------------------------------------------------------------- penalties

    @Test
    void shouldDividePositiveAndMultiplyNegativeLogitsOfPromptAndOutputTokens() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).repetitionPenalty(2).logprobs(5).build(), 5);
        s.setPrompt(new int[] {0, 1, 1}, 3);
        s.accept(3);
        s.sample(new float[] {4, -1, 2, 3, 1}, 0, 5);
        assertPenalizedLogits(s, new float[] {2, -2, 2, 1.5f, 1});
    }

    @Test
    void shouldSubtractFrequencyAndPresencePenaltiesForOutputTokensOnly() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).frequencyPenalty(0.5f).presencePenalty(0.25f)
                .logprobs(4).build(), 4);
        s.setPrompt(new int[] {0}, 1); // a prompt token gets no frequency or presence penalty
        s.accept(2);
        s.accept(2);
        s.accept(3);
        s.sample(new float[] {1, 1, 1, 1}, 0, 4);
        assertPenalizedLogits(s, new float[] {1, 1, 1 - 2 * 0.5f - 0.25f, 1 - 0.5f - 0.25f});
    }

    @Test
    void shouldApplyTheRepetitionPenaltyBeforeFrequencyAndPresence() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).repetitionPenalty(2).frequencyPenalty(0.5f)
                .logprobs(2).build(), 2);
        s.setPrompt(new int[0], 0);
        s.accept(0);
        s.sample(new float[] {2, 0}, 0, 2);
        assertPenalizedLogits(s, new float[] {2f / 2 - 0.5f, 0}); // not (2 - 0.5) / 2
    }

    @Test
    void shouldForgetEarlierTokensOnANewPrompt() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).repetitionPenalty(2).presencePenalty(1).logprobs(2)
                .build(), 2);
        s.setPrompt(new int[] {0}, 1);
        s.accept(1);
        s.setPrompt(new int[] {1}, 1);
        s.sample(new float[] {2, 2}, 0, 2);
        assertPenalizedLogits(s, new float[] {2, 1});
        assertEquals(0, s.generatedCount());
    }

    // ---------------------------------------------------------------- distributions

    @Test
    void shouldSampleTheSoftmaxAtTemperatureOne() {
        assertDistribution(SamplingParams.builder().seed(42).build(), 0.1, 0.2, 0.3, 0.4);
    }

    @Test
    void shouldSharpenWithALowTemperature() {
        // p^(1/T) with T = 0.5: 0.01, 0.04, 0.09, 0.16 over 0.30
        assertDistribution(SamplingParams.builder().seed(43).temperature(0.5f).build(), 1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0);
    }

    @Test
    void shouldKeepOnlyTheTopK() {
        assertDistribution(SamplingParams.builder().seed(44).topK(2).build(), 0, 0, 3 / 7.0, 4 / 7.0);
    }

    @Test
    void shouldKeepTheSmallestSetReachingTopPIncludingTheTokenThatCrossesIt() {
        assertDistribution(SamplingParams.builder().seed(45).topP(0.5f).build(), 0, 0, 3 / 7.0, 4 / 7.0);
        assertDistribution(SamplingParams.builder().seed(46).topP(0.35f).build(), 0, 0, 0, 1);
    }

    @Test
    void shouldDropTokensBelowMinPTimesTheTopProbability() {
        // 0.6 * 0.4 = 0.24: 0.3 and 0.4 stay
        assertDistribution(SamplingParams.builder().seed(47).minP(0.6f).build(), 0, 0, 3 / 7.0, 4 / 7.0);
    }

    @Test
    void shouldApplyTopPToTheRenormalisedTopK() {
        // top-3 renormalised: 0.222, 0.333, 0.444; top-p 0.7 keeps 0.444 + 0.333
        assertDistribution(SamplingParams.builder().seed(48).topK(3).topP(0.7f).build(), 0, 0, 3 / 7.0, 4 / 7.0);
    }

    @Test
    void shouldApplyTemperatureAfterTruncation() {
        // top-k 2 keeps 0.3 and 0.4 (untempered); T = 2 flattens them to sqrt(0.3) : sqrt(0.4)
        double a = Math.sqrt(0.3);
        double b = Math.sqrt(0.4);
        assertDistribution(SamplingParams.builder().seed(49).topK(2).temperature(2).build(), 0, 0, a / (a + b), b / (a + b));
    }

    @Test
    void shouldSampleCorrectlyOverALargeVocabularyWithTopP() {
        // 1000 tokens; the first 10 hold 90% of the mass. top-p 0.8 keeps only those among them that are needed.
        int v = 1000;
        float[] logits = new float[v];
        for (int i = 0; i < v; i++) {
            logits[i] = i < 10 ? (float) Math.log(0.09) : (float) Math.log(0.1 / 990);
        }
        Sampler s = new Sampler(SamplingParams.builder().seed(50).topP(0.8f).build(), v);
        int[] counts = new int[v];
        for (int i = 0; i < 20_000; i++) {
            counts[s.sample(logits, 0, v)]++;
            s.accept(0);
        }
        // 0.8 / 0.09 = 8.9: the 9 best (ties broken by lowest id, so ids 0..8) are kept, equally likely.
        for (int i = 0; i < 9; i++) {
            assertTrue(Math.abs(counts[i] / 20_000.0 - 1 / 9.0) < 0.01, "token " + i + ": " + counts[i]);
        }
        assertEquals(20_000, Arrays.stream(counts, 0, 9).sum());
    }

    /**
     * The histogram-based truncation against a plain reference (sort everything, then top-k, top-p
     * over the renormalised top-k, min-p), on random logits with many ties, masked tokens, and
     * spreads from flat to very peaked.
     */
    @Test
    void shouldKeepExactlyTheTokensAFullSortKeeps() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(2024);
        for (int c = 0; c < 400; c++) {
            int n = 1 + r.nextInt(c < 300 ? 300 : 5000);
            double spread = new double[] {0.01, 0.5, 3, 20, 80}[r.nextInt(5)];
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                double g = r.nextGaussian() * spread;
                logits[i] = r.nextInt(3) == 0 ? (float) Math.round(g) : (float) g; // ties
                if (r.nextInt(20) == 0) {
                    logits[i] = Float.NEGATIVE_INFINITY;
                }
            }
            logits[r.nextInt(n)] = 1; // at least one finite
            SamplingParams.Builder b = SamplingParams.builder().seed(1);
            if (r.nextBoolean()) {
                b.topK(1 + r.nextInt(Math.max(1, n + 3)));
            }
            if (r.nextBoolean()) {
                b.topP((float) (0.05 + 0.9 * r.nextDouble()));
            }
            if (r.nextInt(3) == 0) {
                b.minP((float) (0.3 * r.nextDouble()));
            }
            SamplingParams p = b.build();
            boolean[] got = new Sampler(p, n).keptTokens(logits, 0, n);
            boolean[] want = referenceKept(p, logits);
            assertArrayEquals(want, got, "case " + c + ": " + p + " n=" + n + " spread=" + spread);
        }
    }

    private static boolean[] referenceKept(SamplingParams p, float[] x) {
        int n = x.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> x[a] != x[b] ? Float.compare(x[b], x[a]) : Integer.compare(a, b));
        float max = x[order[0]];
        int k = p.topK() == -1 ? n : Math.min(p.topK(), n);
        int keep = k;
        if (p.topP() < 1f) {
            double z = 0;
            for (int j = 0; j < k; j++) {
                z += Math.exp(x[order[j]] - max);
            }
            double cum = 0;
            for (int j = 0; j < k; j++) {
                cum += Math.exp(x[order[j]] - max) / z;
                if (cum >= p.topP()) {
                    keep = j + 1;
                    break;
                }
            }
        }
        boolean[] kept = new boolean[n];
        float minDelta = p.minP() > 0f ? (float) Math.log(p.minP()) : Float.NEGATIVE_INFINITY;
        for (int j = 0; j < keep; j++) {
            int t = order[j];
            kept[t] = x[t] - max >= minDelta;
        }
        return kept;
    }

    // ---------------------------------------------------------------- seeds

    @Test
    void shouldRepeatTheSameTokensForTheSameSeed() {
        assertArrayEquals(run(7, 50), run(7, 50));
        assertNotEquals(Arrays.toString(run(7, 50)), Arrays.toString(run(8, 50)));
    }

    @Test
    void shouldResumeTheSameDrawsFromTheAcceptedTokens() {
        int[] full = run(9, 20);
        Sampler resumed = new Sampler(SamplingParams.builder().seed(9).build(), 4);
        resumed.setPrompt(new int[0], 0);
        for (int i = 0; i < 12; i++) {
            resumed.accept(full[i]);
        }
        for (int i = 12; i < 20; i++) {
            int t = resumed.sample(FOUR, 0, 4);
            assertEquals(full[i], t, "token " + i);
            resumed.accept(t);
        }
    }

    @Test
    void shouldDrawTheSequenceOfASplittableRandomWithTheSeed() {
        Sampler s = new Sampler(SamplingParams.builder().seed(-12345).build(), 4);
        java.util.SplittableRandom r = new java.util.SplittableRandom(-12345);
        for (int k = 0; k < 100; k++) {
            assertEquals(r.nextDouble(), s.uniform(k), "draw " + k);
        }
    }

    @Test
    void shouldPickARandomSeedWhenNoneIsGiven() {
        assertNotEquals(new Sampler(SamplingParams.defaults(), 4).seed(), new Sampler(SamplingParams.defaults(), 4).seed());
    }

    // ---------------------------------------------------------------- logprobs

    @Test
    void shouldReportTheLogSoftmaxOfTheChosenTokenAndTheTopN() {
        Sampler s = new Sampler(SamplingParams.builder().seed(3).logprobs(2).build(), 4);
        int t = s.sample(FOUR, 0, 4);
        TokenLogprobs lp = s.logprobs();
        assertEquals(t, lp.token());
        assertEquals(Math.log(new double[] {0.1, 0.2, 0.3, 0.4}[t]), lp.logprob(), 1e-6);
        assertEquals(2, lp.topCount());
        assertEquals(3, lp.topId(0));
        assertEquals(Math.log(0.4), lp.topLogprob(0), 1e-6);
        assertEquals(2, lp.topId(1));
        assertEquals(Math.log(0.3), lp.topLogprob(1), 1e-6);
        assertThrows(IndexOutOfBoundsException.class, () -> lp.topId(2));
    }

    @Test
    void shouldListTiedTopTokensByLowestIdAndCapAtTheVocabulary() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).logprobs(20).build(), 8);
        s.sample(new float[] {0, 1, 1, 0, 1}, 0, 5);
        TokenLogprobs lp = s.logprobs();
        assertEquals(5, lp.topCount());
        int[] ids = new int[5];
        for (int i = 0; i < 5; i++) {
            ids[i] = lp.topId(i);
        }
        assertArrayEquals(new int[] {1, 2, 4, 0, 3}, ids);
        assertEquals(1, lp.token());
    }

    @Test
    void shouldReportOnlyTheChosenTokenForLogprobsZero() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).logprobs(0).build(), 4);
        s.sample(FOUR, 0, 4);
        assertEquals(0, s.logprobs().topCount());
        assertEquals(Math.log(0.4), s.logprobs().logprob(), 1e-6);
        assertNull(new Sampler(SamplingParams.greedy(), 4).logprobs());
    }

    // ---------------------------------------------------------------- allocation

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void shouldNotAllocateWhileSamplingOnceCompiled() {
        int v = 32_000;
        float[] logits = new float[v];
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < v; i++) {
            logits[i] = (float) (r.nextGaussian() * 3);
        }
        SamplingParams[] all = {
            SamplingParams.greedy(),
            SamplingParams.builder().seed(1).build(),
            SamplingParams.builder().seed(1).topK(40).topP(0.9f).minP(0.05f).temperature(0.7f).repetitionPenalty(1.1f)
                    .frequencyPenalty(0.2f).presencePenalty(0.1f).logprobs(5).build(),
            SamplingParams.builder().seed(1).topP(0.95f).build(),
        };
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (SamplingParams p : all) {
            Sampler s = new Sampler(p, v);
            s.setPrompt(new int[] {1, 2, 3}, 3);
            // The vector loops allocate until C2 compiles them: measure rounds until one is clean.
            long allocated = Long.MAX_VALUE;
            for (int round = 0; round < 40 && allocated >= 1024; round++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 200; i++) {
                    s.accept(s.sample(logits, 0, v) % 100);
                }
                allocated = mx.getCurrentThreadAllocatedBytes() - before;
            }
            assertTrue(allocated < 1024, p + " still allocated " + allocated + " bytes in 200 tokens after warming up");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static int[] run(long seed, int n) {
        Sampler s = new Sampler(SamplingParams.builder().seed(seed).build(), 4);
        s.setPrompt(new int[0], 0);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = s.sample(FOUR, 0, 4);
            s.accept(out[i]);
        }
        return out;
    }

    /** Draws {@link #DRAWS} tokens and checks each frequency within 5 standard deviations. */
    private static void assertDistribution(SamplingParams params, double... expected) {
        Sampler s = new Sampler(params, 4);
        s.setPrompt(new int[0], 0);
        int[] counts = new int[4];
        for (int i = 0; i < DRAWS; i++) {
            int t = s.sample(FOUR, 0, 4);
            counts[t]++;
            s.accept(t);
        }
        for (int t = 0; t < 4; t++) {
            double p = expected[t];
            double sd = Math.sqrt(p * (1 - p) / DRAWS);
            double got = counts[t] / (double) DRAWS;
            if (p == 0) {
                assertEquals(0, counts[t], "token " + t + " must never be drawn; counts " + Arrays.toString(counts));
            } else {
                assertTrue(Math.abs(got - p) <= 5 * sd + 1e-9, "token " + t + ": " + got + " vs " + p + "; counts "
                        + Arrays.toString(counts));
            }
        }
    }

    /** Penalized logits are recovered from the logprobs up to a constant. */
    private static void assertPenalizedLogits(Sampler s, float[] expected) {
        TokenLogprobs lp = s.logprobs();
        assertEquals(expected.length, lp.topCount());
        float[] got = new float[expected.length];
        for (int i = 0; i < lp.topCount(); i++) {
            got[lp.topId(i)] = lp.topLogprob(i);
        }
        for (int i = 1; i < expected.length; i++) {
            assertEquals(expected[i] - expected[0], got[i] - got[0], 1e-5, "token " + i + " relative to token 0");
        }
    }
}
