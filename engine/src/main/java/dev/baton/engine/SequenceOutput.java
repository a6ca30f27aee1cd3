package dev.baton.engine;

import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.Sampler;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sampling.StopChecker;
import dev.baton.engine.tokenizer.StreamingDetokenizer;
import java.util.Arrays;

/**
 * The output side of one sequence: its token array (prompt then generated), sampler, stop checker
 * and streaming detokenizer. {@link #advance} turns one row of logits into the next token and the
 * text it completes. Used by {@link Generator} and by the batching loop, so both produce the same
 * tokens and text for the same logits.
 *
 * <p>Not thread-safe: owned by the thread that runs the sequence's steps.
 */
public final class SequenceOutput {

    private final int promptLength;
    private final int resumed;
    private final int maxTokens;
    private final int vocabSize;
    private final int[] tokens;
    private final Sampler sampler;
    private final StopChecker stop;
    private final StreamingDetokenizer detok;
    private final StringBuilder out = new StringBuilder();
    private int generated;
    private FinishReason finish;
    private String text = "";

    /**
     * Validates {@code params} and the prompt length against the engine's model.
     *
     * @throws PromptTooLongException when the prompt leaves no room to generate
     * @throws dev.baton.engine.sampling.InvalidSamplingParamsException for out-of-range parameters
     */
    public SequenceOutput(Engine engine, int[] prompt, SamplingParams params) {
        this(engine, prompt, params, 0);
    }

    /**
     * A sequence that resumes one begun elsewhere (a stream migrated from a node that died): the last
     * {@code resumed} entries of {@code prompt} are output tokens already delivered. They are replayed
     * through the sampler, stop checker and detokenizer as {@link #appendSampled} would have taken them,
     * so the sampler's draw counter, penalties and held-back text are where the first node left them, and
     * the tokens sampled from here on are the ones it would have sampled. Their KV is computed like the
     * prompt's: {@link #promptLength()} counts them, {@link #generated()} and {@link #maxTokens()} do not;
     * {@link #requestPromptTokens()} and {@link #completionTokens()} are the request's own counts.
     *
     * @throws EngineException when {@code resumed} is out of range, or the replayed tokens already end the sequence
     */
    public SequenceOutput(Engine engine, int[] prompt, SamplingParams params, int resumed) {
        int context = engine.config().contextLength();
        vocabSize = engine.config().vocabSize();
        params.validate(vocabSize, context);
        engine.checkPromptLength(prompt.length, 1);
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocabSize) {
                throw new EngineException("prompt token id " + prompt[i] + " at position " + i
                        + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
            }
        }
        int own = prompt.length - resumed;
        int limit = Math.min(params.maxTokens(), context - own);
        if (resumed < 0 || resumed >= prompt.length || resumed >= limit) {
            throw new EngineException("resumed tokens " + resumed + " out of range: the sequence has " + prompt.length
                    + " tokens and may generate " + limit);
        }
        promptLength = prompt.length;
        this.resumed = resumed;
        maxTokens = limit - resumed;
        tokens = Arrays.copyOf(prompt, prompt.length + maxTokens);
        sampler = new Sampler(params, vocabSize);
        sampler.setPrompt(prompt, own);
        stop = new StopChecker(params, engine.endOfGenerationIds());
        detok = new StreamingDetokenizer(engine.tokenizer());
        for (int i = own; i < prompt.length; i++) {
            int token = prompt[i];
            sampler.accept(token);
            out.setLength(0);
            if (stop.onToken(token, detok.accept(token), out)) {
                throw new EngineException("the resumed tokens already end the sequence (" + stop.finishReason().wireName()
                        + " at output token " + (i - own) + ")");
            }
        }
        out.setLength(0);
    }

    /** Output tokens delivered before this sequence resumed (0 unless it continues a migrated stream). */
    public int resumed() {
        return resumed;
    }

    /** The request's prompt tokens, without the resumed output tokens. */
    public int requestPromptTokens() {
        return promptLength - resumed;
    }

    /** The request's completion tokens so far: the resumed ones and those generated here. */
    public int completionTokens() {
        return resumed + generated;
    }

    /** Prompt then generated tokens; entries {@code [0, length())} are valid. Not a copy. */
    public int[] tokens() {
        return tokens;
    }

    public int length() {
        return promptLength + generated;
    }

    /** Tokens whose KV precedes the first token sampled here: the prompt, and any resumed output tokens. */
    public int promptLength() {
        return promptLength;
    }

    public int generated() {
        return generated;
    }

    /** Tokens this sequence may generate at most: {@code max_tokens}, capped by the context. */
    public int maxTokens() {
        return maxTokens;
    }

    /** Positions the sequence can reach: prompt plus {@link #maxTokens()}. */
    public int maxLength() {
        return promptLength + maxTokens;
    }

    public boolean finished() {
        return finish != null;
    }

    /** Null while running. */
    public FinishReason finishReason() {
        return finish;
    }

    /** Text completed by the last {@link #advance} (may be empty). */
    public String text() {
        return text;
    }

    /**
     * Samples the next token from {@code logits[offset, offset + vocab)}, appends it and updates
     * the text and the finish state.
     *
     * @return the token
     */
    public int advance(float[] logits, int offset) {
        if (finish != null) {
            throw new IllegalStateException("sequence already finished (" + finish.wireName() + ")");
        }
        int token = sampler.sample(logits, offset, vocabSize);
        append(token);
        return token;
    }

    /**
     * Appends a token sampled elsewhere (a prefill node's first token, handed to the decode node) as
     * if {@link #advance} had sampled it here: the sampler's draw counter, penalties, stop checker and
     * detokenizer move exactly as they would have, so the rest of the sequence is the same as on one node.
     *
     * @throws IllegalStateException if the sequence is finished
     * @throws IllegalArgumentException if {@code token} is outside the vocabulary
     */
    public void appendSampled(int token) {
        if (finish != null) {
            throw new IllegalStateException("sequence already finished (" + finish.wireName() + ")");
        }
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
        }
        append(token);
    }

    private void append(int token) {
        sampler.accept(token);
        tokens[promptLength + generated++] = token;
        out.setLength(0);
        boolean done = stop.onToken(token, detok.accept(token), out);
        if (done) {
            finish = stop.finishReason();
        } else if (generated >= maxTokens) {
            // the context is full before max_tokens: OpenAI ends this with "length" too
            stop.flush(out);
            finish = FinishReason.LENGTH;
        }
        if (finish != null && stop.matchedStopString() == null && stop.matchedStopToken() < 0) {
            out.append(detok.flush());
        }
        text = out.isEmpty() ? "" : out.toString();
    }

    /** The sampler's seed: the request's, or the one picked for it (a decode node continuing this sequence needs it). */
    public long seed() {
        return sampler.seed();
    }

    /** The top-n logprobs of the last sampled token, or null if the request asked for none. */
    public dev.baton.engine.sampling.TokenLogprobs logprobs() {
        return sampler.logprobs();
    }
}
