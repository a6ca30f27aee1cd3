package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.spec.DraftModel;
import dev.baton.engine.spec.SpeculationSettings;
import dev.baton.engine.testing.Oracle;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Speculative decoding with a draft model ({@code mode = draft-model}): the output is the output without
 * speculation whatever the draft model is; a draft model that is the target itself has every greedy draft
 * accepted; the draft model's KV is given back; a full draft pool only costs drafts; a file with another
 * vocabulary is refused by name.
 */
@Timeout(180)
class DraftModelTest {

    private static EngineSettings settings(String model) {
        return EngineSettings.defaults(Oracle.model(model)).withThreads(2).withKvCacheBytes(64L << 20).withBatch(96, 16);
    }

    private static LoopSettings loop(SpeculationSettings s) {
        return LoopSettings.defaults().withSpeculation(s);
    }

    /** Random prompts of the tiny models (BOS 508), some repeating a span. */
    private static int[][] prompts(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) {
            int[] span = rnd.ints(3 + rnd.nextInt(20), 3, 500).toArray();
            int copies = 1 + i % 2;
            int[] p = new int[1 + span.length * copies];
            p[0] = 508;
            for (int c = 0; c < copies; c++) {
                System.arraycopy(span, 0, p, 1 + c * span.length, span.length);
            }
            out[i] = p;
        }
        return out;
    }

    private static SamplingParams params(int i, boolean greedyOnly) {
        SamplingParams.Builder b = SamplingParams.builder().maxTokens(10 + (i * 11) % 40).ignoreEos(true);
        if (greedyOnly) {
            return b.temperature(0).build();
        }
        return switch (i % 3) {
            case 0 -> b.temperature(0.8f).topP(0.9f).seed(500 + i).build();
            case 1 -> b.temperature(0.6f).repetitionPenalty(1.1f).seed(700 + i).logprobs(2).build();
            default -> b.temperature(0).build();
        };
    }

    private record Run(int[][] tokens, long drafted, long accepted) {}

    /** Runs every prompt at once on a loop; {@code draft} null: no speculation. */
    private static Run run(Engine e, DraftModel draft, int[][] prompts, boolean greedyOnly) throws Exception {
        SpeculationSettings s = draft == null ? SpeculationSettings.off() : SpeculationSettings.promptLookup(4, 2, 4);
        EngineLoopTest.Collector[] got = new EngineLoopTest.Collector[prompts.length];
        try (EngineLoop loop = new EngineLoop(e, loop(s), "draft")) {
            loop.useDrafter(draft);
            for (int i = 0; i < prompts.length; i++) {
                got[i] = new EngineLoopTest.Collector();
                assertEquals(EngineLoop.SubmitResult.ACCEPTED, loop.submit(
                        new GenerationRequest(new RequestId(i), prompts[i], params(i, greedyOnly)), got[i]));
            }
            int[][] tokens = new int[prompts.length][];
            for (int i = 0; i < prompts.length; i++) {
                got[i].done.get(120, TimeUnit.SECONDS);
                tokens[i] = got[i].ids();
            }
            if (draft != null) {
                assertEquals(draft.engine().pool().blockCount(), draft.engine().pool().freeBlockCount(),
                        "the draft model's KV of every finished sequence is given back");
            }
            return new Run(tokens, loop.draftedTokens(), loop.acceptedDraftTokens());
        }
    }

    @Test
    void shouldHaveEveryGreedyDraftAcceptedWhenTheDraftModelIsTheTarget() throws Exception {
        try (Engine e = Engine.open(settings("tiny-q8_0"))) {
            int[][] prompts = prompts(8, 3);
            Run off = run(e, null, prompts, true);
            Run on = run(e, DraftModel.open(Oracle.model("tiny-q8_0"), 16L << 20, e), prompts, true);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(off.tokens()[i], on.tokens()[i], "request " + i);
            }
            assertTrue(on.drafted() > 0, "drafts: " + on);
            assertEquals(on.drafted(), on.accepted(), "the target's own greedy continuation is always accepted");
        }
    }

    @Test
    void shouldGiveTheOutputWithoutSpeculationWithAnotherDraftModel() throws Exception {
        try (Engine e = Engine.open(settings("tiny-q8_0"))) {
            int[][] prompts = prompts(9, 5);
            Run off = run(e, null, prompts, false);
            Run on = run(e, DraftModel.open(Oracle.model("tiny-f32"), 16L << 20, e), prompts, false);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(off.tokens()[i], on.tokens()[i], "request " + i);
            }
            assertTrue(on.accepted() > 0, "the F32 model's drafts are mostly the Q8_0 model's tokens: " + on);
            assertTrue(on.accepted() < on.drafted(), "sampled tokens reject some drafts: " + on);
        }
    }

    @Test
    void shouldOnlyLoseDraftsWhenTheDraftPoolIsFull() throws Exception {
        try (Engine e = Engine.open(settings("tiny-q8_0"))) {
            int[][] prompts = prompts(8, 9);
            Run off = run(e, null, prompts, true);
            long twoSequences = 2 * 6 * e.pool().spec().blockBytes(); // two sequences of up to 96 positions
            DraftModel small = DraftModel.open(Oracle.model("tiny-q8_0"), twoSequences, e);
            assertTrue(small.engine().pool().blockCount() < 16, "a pool too small for eight sequences");
            Run on = run(e, small, prompts, true);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(off.tokens()[i], on.tokens()[i], "request " + i);
            }
            assertTrue(on.drafted() > 0 && on.drafted() == on.accepted(), "sequences that fit still draft: " + on);
        }
    }

    /**
     * The batched path (every sequence's draft in shared passes, the one the loop uses) drafts exactly what each
     * sequence drafted on its own does, across calls that move the sequences on as the target would (accepting part of a
     * draft, a token of its own), including sequences whose catch-up is longer than a draft batch.
     */
    @Test
    void shouldDraftTheSameTokensBatchedAsOneSequenceAtATime() throws Exception {
        try (Engine e = Engine.open(settings("tiny-q8_0"));
                DraftModel one = DraftModel.open(Oracle.model("tiny-f32"), 16L << 20, e);
                DraftModel all = DraftModel.open(Oracle.model("tiny-f32"), 16L << 20, e)) {
            int n = 5;
            SplittableRandom rnd = new SplittableRandom(21);
            int[][] tokens = new int[n][400];
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = i == 0 ? 300 : 2 + rnd.nextInt(40); // 300: more than one draft batch (256 tokens)
                tokens[i][0] = 508;
                for (int t = 1; t < lengths[i]; t++) {
                    tokens[i][t] = 3 + rnd.nextInt(497);
                }
            }
            dev.baton.engine.spec.Drafter[] singles = new dev.baton.engine.spec.Drafter[n];
            dev.baton.engine.spec.Drafter[] batched = new dev.baton.engine.spec.Drafter[n];
            for (int i = 0; i < n; i++) {
                singles[i] = one.forSequence();
                batched[i] = all.forSequence();
            }
            int[][] outs = new int[n][6];
            int[] max = new int[n];
            int[] counts = new int[n];
            for (int round = 0; round < 6; round++) {
                for (int i = 0; i < n; i++) {
                    max[i] = 1 + (i + round) % 5;
                }
                all.draftBatch(batched, tokens, lengths, outs, max, counts, n);
                for (int i = 0; i < n; i++) {
                    int[] expected = new int[6];
                    int got = singles[i].draft(tokens[i], lengths[i], expected, max[i]);
                    assertEquals(got, counts[i], "round " + round + ", sequence " + i);
                    assertArrayEquals(java.util.Arrays.copyOf(expected, got), java.util.Arrays.copyOf(outs[i], counts[i]),
                            "round " + round + ", sequence " + i);
                    // the target keeps part of the draft and adds a token of its own
                    int keep = (i + round) % (counts[i] + 1);
                    System.arraycopy(outs[i], 0, tokens[i], lengths[i], keep);
                    tokens[i][lengths[i] + keep] = 3 + rnd.nextInt(497);
                    lengths[i] += keep + 1;
                }
            }
            for (int i = 0; i < n; i++) {
                singles[i].release();
                batched[i].release();
            }
            assertEquals(all.engine().pool().blockCount(), all.engine().pool().freeBlockCount());
        }
    }

    @Test
    void shouldRefuseADraftModelWithAnotherVocabularyOrNoFile() throws Exception {
        try (Engine e = Engine.open(settings("tiny-q8_0"))) {
            EngineException other = assertThrows(EngineException.class,
                    () -> DraftModel.open(Oracle.model("small-q4_0"), 16L << 20, e));
            assertTrue(other.getMessage().contains("does not share the vocabulary")
                    && other.getMessage().contains("small-q4_0"), other.getMessage());
            EngineException none = assertThrows(EngineException.class,
                    () -> SpeculationSettings.draftModel(Path.of("/nonexistent/draft.gguf"), 4));
            assertTrue(none.getMessage().contains("/nonexistent/draft.gguf"), none.getMessage());
            EngineException viaLoop = assertThrows(EngineException.class, () -> new EngineLoop(e,
                    loop(SpeculationSettings.draftModel(Oracle.model("small-q8_0"), 4)), "bad-draft").close());
            assertTrue(viaLoop.getMessage().contains("vocabulary"), viaLoop.getMessage());
        }
    }
}
