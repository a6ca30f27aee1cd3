package dev.baton.engine;

import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.step.StepBatch;
import java.util.Arrays;

/**
 * Generates one sequence on an {@link Engine}: chunked prefill of the prompt, then one decode step
 * per token. This is the single-sequence path of {@code bin/baton generate} and of tests; serving
 * runs many sequences per step through {@link dev.baton.engine.sched.EngineLoop}.
 *
 * <p>Not thread-safe: it drives the engine's forward pass, which has one owner at a time. The
 * sequence's KV blocks are returned to the pool when {@link #generate} returns or throws.
 */
public final class Generator {

    /** Receives text as soon as it is complete (never a partial UTF-8 character or a held-back stop prefix). */
    @FunctionalInterface
    public interface TextListener {
        void onText(String text);
    }

    /**
     * What one generation produced.
     *
     * @param prefillNanos time from the start to the first token's logits
     * @param decodeNanos  time spent in decode steps (tokens after the first)
     */
    public record Result(int[] promptTokens, int[] tokens, String text, FinishReason finishReason,
            long prefillNanos, long decodeNanos) {

        public double promptTokensPerSecond() {
            return prefillNanos == 0 ? 0 : promptTokens.length * 1e9 / prefillNanos;
        }

        /** Tokens per second of the decode steps (the first token comes from prefill and is not counted). */
        public double decodeTokensPerSecond() {
            return decodeNanos == 0 || tokens.length < 2 ? 0 : (tokens.length - 1) * 1e9 / decodeNanos;
        }
    }

    private final Engine engine;

    public Generator(Engine engine) {
        this.engine = engine;
    }

    /**
     * Generates from {@code prompt} (token ids, BOS included if wanted).
     *
     * @throws PromptTooLongException when the prompt leaves no room in the context
     * @throws dev.baton.engine.sampling.InvalidSamplingParamsException for out-of-range parameters
     */
    public Result generate(int[] prompt, SamplingParams params, TextListener listener) {
        SequenceOutput seqOut = new SequenceOutput(engine, prompt, params);
        int vocab = engine.config().vocabSize();
        StringBuilder text = new StringBuilder();
        KvSequence seq = engine.newSequence();
        StepBatch batch = engine.newBatch();
        long t0 = System.nanoTime();
        long prefillNanos;
        long decodeStart;
        try {
            int done = 0;
            int row = -1;
            while (done < prompt.length) {
                batch.clear();
                int n = Math.min(batch.remainingTokens(), prompt.length - done);
                row = batch.add(seq, prompt, done, done + n, done + n == prompt.length);
                engine.forward().step(batch);
                done += n;
            }
            prefillNanos = System.nanoTime() - t0;
            decodeStart = System.nanoTime();
            while (true) {
                seqOut.advance(engine.forward().logits(), row * vocab);
                if (!seqOut.text().isEmpty()) {
                    text.append(seqOut.text());
                    listener.onText(seqOut.text());
                }
                if (seqOut.finished()) {
                    break;
                }
                int pos = seqOut.length() - 1;
                batch.clear();
                row = batch.add(seq, seqOut.tokens(), pos, pos + 1, true);
                engine.forward().step(batch);
            }
        } finally {
            seq.free();
        }
        int generated = seqOut.generated();
        long decodeNanos = generated > 1 ? System.nanoTime() - decodeStart : 0;
        return new Result(prompt.clone(), Arrays.copyOfRange(seqOut.tokens(), prompt.length, prompt.length + generated),
                text.toString(), seqOut.finishReason(), prefillNanos, decodeNanos);
    }
}
