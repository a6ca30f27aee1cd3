package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.spec.Drafter;
import dev.baton.engine.spec.SpeculationSettings;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.testing.Oracle;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Speculative decoding in the engine loop: drafts verified in one step give exactly the tokens of one token per
 * step (greedy and seeded sampling, several concurrent sequences), whatever the drafts are; the output
 * distribution under sampling is the target's.
 */
@Timeout(180)
class SpeculativeDecodingTest {

    private static EngineSettings settings(String model) {
        return EngineSettings.defaults(Oracle.model(model)).withThreads(2).withKvCacheBytes(64L << 20).withBatch(96, 16);
    }

    private static LoopSettings loop(SpeculationSettings s) {
        return LoopSettings.defaults().withSpeculation(s);
    }

    /** Prompts whose answers tend to copy: a random span repeated, and plain random prompts, each with a BOS. */
    private static int[][] prompts(int n, int vocabLimit, int bos, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) {
            int span = 4 + rnd.nextInt(12);
            int[] s = rnd.ints(span, 3, vocabLimit).toArray();
            int copies = i % 3 == 2 ? 1 : 2 + rnd.nextInt(3);
            int[] p = new int[1 + span * copies + (i % 2)];
            p[0] = bos;
            for (int c = 0; c < copies; c++) {
                System.arraycopy(s, 0, p, 1 + c * span, span);
            }
            if (i % 2 == 1) {
                p[p.length - 1] = s[0];
            }
            out[i] = p;
        }
        return out;
    }

    private static SamplingParams params(int i) {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(12 + (i * 7) % 30).ignoreEos(true);
        return switch (i % 4) {
            case 0 -> b.temperature(0.8f).topP(0.95f).seed(1000 + i).build();
            case 1 -> b.temperature(0.7f).repetitionPenalty(1.1f).seed(2000 + i).logprobs(2).build();
            default -> b.temperature(0).build();
        };
    }

    private record Run(int[][] tokens, String[] texts, long steps, long drafted, long accepted) {}

    private static Run run(Engine e, LoopSettings s, Drafter drafter, int[][] prompts, SamplingParams[] params)
            throws Exception {
        int n = prompts.length;
        EngineLoopTest.Collector[] got = new EngineLoopTest.Collector[n];
        try (EngineLoop loop = new EngineLoop(e, s, "spec")) {
            if (drafter != null) {
                loop.useDrafter(drafter);
            }
            for (int i = 0; i < n; i++) {
                got[i] = new EngineLoopTest.Collector();
                assertEquals(EngineLoop.SubmitResult.ACCEPTED,
                        loop.submit(new GenerationRequest(new RequestId(i), prompts[i], params[i]), got[i]));
            }
            int[][] tokens = new int[n][];
            String[] texts = new String[n];
            for (int i = 0; i < n; i++) {
                got[i].done.get(120, TimeUnit.SECONDS);
                tokens[i] = got[i].ids();
                texts[i] = got[i].text.toString();
            }
            assertEquals(e.pool().blockCount(), e.pool().freeBlockCount(),
                    "every block returned");
            return new Run(tokens, texts, loop.stepCount(), loop.draftedTokens(), loop.acceptedDraftTokens());
        }
    }

    @Test
    void shouldGiveTheTokensOfOneTokenPerStepWithPromptLookupOnTheOracleModels() throws Exception {
        long rejected = 0;
        for (String model : new String[] {"tiny-q8_0", "small-q8_0"}) {
            try (Engine e = Engine.open(settings(model))) {
                int bos = model.startsWith("tiny") ? 508 : 1;
                int[][] prompts = prompts(12, model.startsWith("tiny") ? 500 : 2000, bos, 7);
                SamplingParams[] params = new SamplingParams[prompts.length];
                Arrays.setAll(params, SpeculativeDecodingTest::params);
                Run off = run(e, loop(SpeculationSettings.off()), null, prompts, params);
                Run on = run(e, loop(SpeculationSettings.promptLookup(4, 1, 3)), null, prompts, params);
                for (int i = 0; i < prompts.length; i++) {
                    assertArrayEquals(off.tokens()[i], on.tokens()[i], model + " request " + i);
                    assertEquals(off.texts()[i], on.texts()[i], model + " request " + i);
                }
                assertEquals(0, off.drafted());
                assertTrue(on.accepted() > 0, model + ": drafts must be accepted here: " + on);
                rejected += on.drafted() - on.accepted();
            }
        }
        assertTrue(rejected > 0, "drafts must be rejected too");
    }

    @Test
    void shouldAcceptEveryDraftThatIsTheAnswerAndRejectEveryWrongOne() throws Exception {
        try (Engine e = Engine.open(settings("tiny-q8_0"))) {
            int[][] prompts = prompts(6, 500, 508, 11);
            SamplingParams[] params = new SamplingParams[prompts.length];
            Arrays.setAll(params, SpeculativeDecodingTest::params);
            Run off = run(e, loop(SpeculationSettings.off()), null, prompts, params);
            Map<Integer, int[]> answers = new HashMap<>(); // prompt's first span token -> the whole sequence
            Drafter replay = (tokens, length, out, max) -> {
                for (int i = 0; i < prompts.length; i++) {
                    int[] p = prompts[i];
                    if (length >= p.length && Arrays.equals(tokens, 0, p.length, p, 0, p.length)) {
                        int[] a = off.tokens()[i];
                        int from = length - p.length;
                        int count = Math.min(max, a.length - from);
                        System.arraycopy(a, from, out, 0, Math.max(0, count));
                        return Math.max(0, count);
                    }
                }
                return 0;
            };
            Run full = run(e, loop(SpeculationSettings.promptLookup(5, 1, 3)), replay, prompts, params);
            Drafter wrong = (tokens, length, out, max) -> {
                for (int j = 0; j < max; j++) {
                    out[j] = (tokens[length - 1] + 1 + j) % 500; // a token the answer rarely has: mostly rejected
                }
                return max;
            };
            Run bad = run(e, loop(SpeculationSettings.promptLookup(3, 1, 3)), wrong, prompts, params);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(off.tokens()[i], full.tokens()[i], "replayed drafts, request " + i);
                assertArrayEquals(off.tokens()[i], bad.tokens()[i], "wrong drafts, request " + i);
            }
            assertTrue(full.drafted() > 0);
            assertEquals(full.drafted(), full.accepted(), "the answer itself is always accepted");
            // Each decode step of a sequence gives its accepted drafts plus one token of its own, so a sequence's
            // decode steps are its tokens after the first (which its prefill gives) less its accepted drafts. The
            // loop's own step count is not used: it depends on how the requests' arrivals fall into steps.
            long decoded = Arrays.stream(off.tokens()).mapToLong(t -> t.length - 1).sum();
            long sequenceSteps = decoded - full.accepted();
            assertTrue(sequenceSteps * 3 < decoded,
                    "up to 6 tokens a step: " + sequenceSteps + " sequence steps for " + decoded + " tokens");
            assertTrue(bad.drafted() > 0 && bad.accepted() < bad.drafted() / 4, "wrong drafts are rejected: " + bad);
        }
    }

    @Test
    void shouldCountProposedAndAcceptedDraftTokensInItsMeters() throws Exception {
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (Engine e = Engine.open(settings("tiny-q8_0"));
                EngineLoop loop = new EngineLoop(e, loop(SpeculationSettings.promptLookup(3, 1, 3)), "spec", registry,
                        io.micrometer.core.instrument.Tags.of("role", "worker"))) {
            loop.useDrafter((tokens, length, out, max) -> {
                out[0] = tokens[length - 1] == 7 ? 7 : (tokens[length - 1] + 1) % 500; // right once the answer is 7s
                return 1;
            });
            EngineLoopTest.Collector c = new EngineLoopTest.Collector();
            loop.submit(new GenerationRequest(new RequestId(1), new int[] {508, 7, 7, 7, 7, 7, 7, 7},
                    SamplingParams.builder().temperature(0).maxTokens(24).ignoreEos(true).build()), c);
            c.done.get(30, TimeUnit.SECONDS);
            double proposed = registry.get("baton.speculation.draft.tokens").tag("outcome", "proposed").functionCounter()
                    .count();
            double accepted = registry.get("baton.speculation.draft.tokens").tag("outcome", "accepted").functionCounter()
                    .count();
            assertEquals(loop.draftedTokens(), (long) proposed);
            assertEquals(loop.acceptedDraftTokens(), (long) accepted);
            assertTrue(proposed > 0);
            assertEquals(accepted / proposed, registry.get("baton.speculation.acceptance").gauge().value(), 1e-9);
            assertEquals(24.0, registry.get("baton.tokens").tag("phase", "decode").functionCounter().count());
        }
    }

    /**
     * Temperature 1 with top-k 4 on the tiny model: the joint distribution of the first two output tokens over
     * 1,000 seeds, with the second token always verified against a draft (the target's likeliest token), matches
     * the target's own probabilities (chi-square), and every seed gives the tokens it gives without speculation.
     */
    @Test
    void shouldSampleTheTargetDistributionUnderSpeculation() throws Exception {
        int[] prompt = {508, 40, 41, 42, 43, 40, 41};
        int n = 1000;
        try (Engine e = Engine.open(settings("tiny-f32")); Engine probe = Engine.open(settings("tiny-f32"))) {
            int vocab = e.config().vocabSize();
            double[] first = topKProbs(logitsAfter(probe, prompt), 4);
            double[][] second = new double[vocab][];
            int[] likeliest = new int[vocab];
            for (int t = 0; t < vocab; t++) {
                if (first[t] > 0) {
                    int[] p = Arrays.copyOf(prompt, prompt.length + 1);
                    p[prompt.length] = t;
                    second[t] = topKProbs(logitsAfter(probe, p), 4);
                    likeliest[t] = argmax(second[t]);
                }
            }
            Drafter draft = (tokens, length, out, max) -> {
                if (length != prompt.length + 1) {
                    return 0;
                }
                out[0] = likeliest[tokens[length - 1]];
                out[1] = out[0];
                return Math.min(2, max);
            };
            int[][] prompts = new int[n][];
            SamplingParams[] params = new SamplingParams[n];
            for (int i = 0; i < n; i++) {
                prompts[i] = prompt;
                params[i] = SamplingParams.builder().temperature(1f).topK(4).seed(90_000L + i).maxTokens(3)
                        .ignoreEos(true).build();
            }
            Run on = run(e, loop(SpeculationSettings.promptLookup(2, 1, 1)), draft, prompts, params);
            Run off = run(e, loop(SpeculationSettings.off()), null, prompts, params);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(off.tokens()[i], on.tokens()[i], "seed " + (90_000L + i));
            }
            assertTrue(on.accepted() > 0 && on.accepted() < on.drafted(), "drafts accepted and rejected: " + on);
            Map<Long, Integer> observed = new HashMap<>();
            for (int[] t : on.tokens()) {
                observed.merge((long) t[0] * vocab + t[1], 1, Integer::sum);
            }
            double chi2 = 0;
            int cells = 0;
            double otherExpected = 0;
            int otherObserved = 0;
            for (int a = 0; a < vocab; a++) {
                if (first[a] == 0) {
                    continue;
                }
                for (int b = 0; b < vocab; b++) {
                    double expected = n * first[a] * second[a][b];
                    if (expected == 0) {
                        assertEquals(null, observed.get((long) a * vocab + b), "token pair outside the target's support");
                        continue;
                    }
                    int o = observed.getOrDefault((long) a * vocab + b, 0);
                    if (expected < 5) {
                        otherExpected += expected;
                        otherObserved += o;
                        continue;
                    }
                    chi2 += (o - expected) * (o - expected) / expected;
                    cells++;
                }
            }
            if (otherExpected > 0) {
                chi2 += (otherObserved - otherExpected) * (otherObserved - otherExpected) / otherExpected;
                cells++;
            }
            // 16 cells at most (15 degrees of freedom): the 0.999 quantile of chi-square(15) is 37.7
            assertTrue(cells >= 4, "cells " + cells);
            assertTrue(chi2 < 37.7, "chi-square " + chi2 + " over " + cells + " cells");
        }
    }

    /** The logits after the last token of {@code tokens}, computed alone. */
    private static float[] logitsAfter(Engine e, int[] tokens) {
        KvSequence kv = e.newSequence();
        try {
            StepBatch b = e.newBatch();
            b.clear();
            int row = b.add(kv, tokens, 0, tokens.length, true);
            e.forward().step(b);
            int vocab = e.config().vocabSize();
            return Arrays.copyOfRange(e.forward().logits(), row * vocab, (row + 1) * vocab);
        } finally {
            kv.free();
        }
    }

    /** Softmax over the {@code k} largest logits (ties to the lower id), 0 elsewhere. */
    private static double[] topKProbs(float[] logits, int k) {
        Integer[] ids = new Integer[logits.length];
        Arrays.setAll(ids, i -> i);
        Arrays.sort(ids, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        double[] p = new double[logits.length];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            p[ids[j]] = Math.exp(logits[ids[j]] - logits[ids[0]]);
            sum += p[ids[j]];
        }
        for (int j = 0; j < k; j++) {
            p[ids[j]] /= sum;
        }
        return p;
    }

    private static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }
}
