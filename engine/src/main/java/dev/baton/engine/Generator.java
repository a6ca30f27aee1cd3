package dev.baton.engine;

import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.Sampler;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sampling.StopChecker;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.tokenizer.StreamingDetokenizer;
import java.util.Arrays;

/**
 * Generates one sequence on an {@link Engine}: chunked prefill of the prompt, then one decode step
 * per token, with sampling, streaming detokenization and stop handling. The serving nodes use the
 * step API directly with many sequences per batch; this class is the single-sequence path of
 * {@code bin/baton generate} and of tests.
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
    private final int[] endOfGeneration;

    public Generator(Engine engine) {
        this.engine = engine;
        this.endOfGeneration = engine.endOfGenerationIds();
    }

    /**
     * Generates from {@code prompt} (token ids, BOS included if wanted).
     *
     * @throws PromptTooLongException when the prompt leaves no room in the context
     * @throws dev.baton.engine.sampling.InvalidSamplingParamsException for out-of-range parameters
     */
    public Result generate(int[] prompt, SamplingParams params, TextListener listener) {
        int vocab = engine.config().vocabSize();
        int context = engine.config().contextLength();
        params.validate(vocab, context);
        engine.checkPromptLength(prompt.length, 1);
        int maxTokens = Math.min(params.maxTokens(), context - prompt.length);
        Sampler sampler = new Sampler(params, vocab);
        sampler.setPrompt(prompt, prompt.length);
        StopChecker stop = new StopChecker(params, endOfGeneration);
        StreamingDetokenizer detok = new StreamingDetokenizer(engine.tokenizer());
        StringBuilder text = new StringBuilder();
        StringBuilder out = new StringBuilder();
        int[] all = Arrays.copyOf(prompt, prompt.length + maxTokens);
        int generated = 0;
        FinishReason finish = null;
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
                int token = sampler.sample(engine.forward().logits(), row * vocab, vocab);
                sampler.accept(token);
                all[prompt.length + generated++] = token;
                out.setLength(0);
                boolean finished = stop.onToken(token, detok.accept(token), out);
                if (!finished && generated >= maxTokens) {
                    // the context is full before max_tokens: end as OpenAI does, with "length"
                    stop.flush(out);
                    finish = FinishReason.LENGTH;
                    finished = true;
                }
                if (finished) {
                    if (finish == null) {
                        finish = stop.finishReason();
                    }
                    if (stop.matchedStopString() == null && stop.matchedStopToken() < 0) {
                        out.append(detok.flush());
                    }
                }
                if (!out.isEmpty()) {
                    String piece = out.toString();
                    text.append(piece);
                    listener.onText(piece);
                }
                if (finished) {
                    break;
                }
                int pos = prompt.length + generated - 1;
                batch.clear();
                row = batch.add(seq, all, pos, pos + 1, true);
                engine.forward().step(batch);
            }
        } finally {
            seq.free();
        }
        long decodeNanos = generated > 1 ? System.nanoTime() - decodeStart : 0;
        return new Result(prompt.clone(), Arrays.copyOfRange(all, prompt.length, prompt.length + generated),
                text.toString(), finish, prefillNanos, decodeNanos);
    }
}
