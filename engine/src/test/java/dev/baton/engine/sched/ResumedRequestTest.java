package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A request resumed from the tokens a client already has (a migrated stream) continues exactly as the
 * undisturbed request: the same tokens, the same text pieces, the same finish, and usage counted as the
 * request's own.
 */
@Timeout(120)
class ResumedRequestTest {

    /** Also keeps each token's text piece and the reported usage. */
    static final class Pieces extends EngineLoopTest.Collector {
        final List<String> pieces = new ArrayList<>();
        volatile int usagePrompt = -1;
        volatile int usageCompletion = -1;

        @Override
        public void onToken(int tokenId, String t) {
            super.onToken(tokenId, t);
            pieces.add(t);
        }

        @Override
        public void onFinished(FinishReason reason, String t, int promptTokens, int completionTokens) {
            usagePrompt = promptTokens;
            usageCompletion = completionTokens;
            pieces.add(t);
            super.onFinished(reason, t, promptTokens, completionTokens);
        }
    }

    private static Pieces run(EngineLoop loop, long id, int[] prompt, SamplingParams params, int resumed) throws Exception {
        Pieces c = new Pieces();
        assertEquals(EngineLoop.SubmitResult.ACCEPTED,
                loop.submit(new GenerationRequest(new RequestId(id), prompt, params, "", resumed), c));
        c.done.get(60, TimeUnit.SECONDS);
        return c;
    }

    @Test
    void shouldContinueAStreamFromAnyTokenExactlyAsTheUndisturbedRequest() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        SamplingParams[] params = {
            SamplingParams.builder().temperature(0).maxTokens(24).ignoreEos(true).build(),
            SamplingParams.builder().temperature(0.9f).topP(0.95f).topK(40).seed(11).maxTokens(24)
                    .repetitionPenalty(1.3f).frequencyPenalty(0.5f).presencePenalty(0.2f).ignoreEos(true).build(),
            SamplingParams.builder().temperature(1.2f).seed(-5).maxTokens(20).build(),
        };
        try (Engine e = Engine.open(EngineLoopTest.settings(32L << 20));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            long id = 1;
            for (SamplingParams p : params) {
                int[] prompt = rnd.ints(5 + rnd.nextInt(40), 0, 508).toArray();
                Pieces whole = run(loop, id++, prompt, p, 0);
                int[] out = whole.ids();
                assertTrue(out.length >= 3, "the undisturbed request generates a few tokens: " + out.length);
                for (int k : new int[] {1, 2, out.length / 2, out.length - 1}) {
                    int[] resumedPrompt = Arrays.copyOf(prompt, prompt.length + k);
                    System.arraycopy(out, 0, resumedPrompt, prompt.length, k);
                    Pieces rest = run(loop, id++, resumedPrompt, p, k);
                    assertArrayEquals(Arrays.copyOfRange(out, k, out.length), rest.ids(), "tokens after " + k);
                    assertEquals(whole.pieces.subList(k, whole.pieces.size()), rest.pieces, "text pieces after " + k);
                    assertEquals(whole.done.get(), rest.done.get(), "finish reason after " + k);
                    assertEquals(prompt.length, rest.usagePrompt, "prompt tokens: the request's own");
                    assertEquals(out.length, rest.usageCompletion, "completion tokens: the resumed ones too");
                    assertEquals(prompt.length, rest.prefilledPrompt);
                }
            }
            assertEquals(e.pool().blockCount(), e.pool().freeBlockCount(), "every block returned");
        }
    }

    @Test
    void shouldRefuseResumedTokensThatAreOutOfRangeOrAlreadyEndTheSequence() throws Exception {
        try (Engine e = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            int[] prompt = {508, 1, 2, 3, 4};
            SamplingParams p = SamplingParams.builder().temperature(0).maxTokens(3).ignoreEos(true).build();
            EngineException tooMany = assertThrows(EngineException.class, () -> loop.submit(
                    new GenerationRequest(new RequestId(1), prompt, p, "", 3), new EngineLoopTest.Collector()));
            assertTrue(tooMany.getMessage().contains("resumed tokens 3 out of range"), tooMany.getMessage());
            assertThrows(EngineException.class, () -> loop.submit(
                    new GenerationRequest(new RequestId(2), prompt, p, "", -1), new EngineLoopTest.Collector()));
            int eos = e.endOfGenerationIds().length > 0 ? e.endOfGenerationIds()[0] : -1;
            if (eos >= 0) {
                SamplingParams stops = SamplingParams.builder().temperature(0).maxTokens(8).build();
                EngineException ended = assertThrows(EngineException.class, () -> loop.submit(
                        new GenerationRequest(new RequestId(3), new int[] {508, 1, eos, 2}, stops, "", 2),
                        new EngineLoopTest.Collector()));
                assertTrue(ended.getMessage().contains("already end the sequence"), ended.getMessage());
            }
        }
    }
}
