package dev.baton.engine.sampling;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * How to pick the next token of one request, with OpenAI / vLLM semantics. Immutable.
 *
 * <p>The constructor only checks for nulls; {@link #validate(int, int)} checks every range once, at
 * admission, and throws {@link InvalidSamplingParamsException} naming the field:
 * <table>
 *   <caption>Allowed values</caption>
 *   <tr><th>field (request name)</th><th>range</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>temperature</td><td>[0, 2]</td><td>1</td><td>0 = greedy (argmax, ties to the lowest id)</td></tr>
 *   <tr><td>top_k</td><td>-1 or &ge; 1</td><td>-1</td><td>keep the k most likely tokens; -1 = all</td></tr>
 *   <tr><td>top_p</td><td>(0, 1]</td><td>1</td><td>keep the smallest set whose probability reaches p</td></tr>
 *   <tr><td>min_p</td><td>[0, 1]</td><td>0</td><td>drop tokens below min_p &times; the top probability</td></tr>
 *   <tr><td>seed</td><td>any long, or none</td><td>none</td><td>same seed and logits give the same tokens</td></tr>
 *   <tr><td>repetition_penalty</td><td>(0, 2]</td><td>1</td><td>over prompt and output: positive logits divided, negative multiplied</td></tr>
 *   <tr><td>frequency_penalty</td><td>[-2, 2]</td><td>0</td><td>subtracted once per earlier occurrence in the output</td></tr>
 *   <tr><td>presence_penalty</td><td>[-2, 2]</td><td>0</td><td>subtracted once if the token occurs in the output</td></tr>
 *   <tr><td>max_tokens</td><td>[1, context length]</td><td>16</td><td>output tokens at most</td></tr>
 *   <tr><td>stop_token_ids</td><td>ids in [0, vocab size)</td><td>none</td><td>finish when one is sampled (not emitted)</td></tr>
 *   <tr><td>stop</td><td>at most {@value #MAX_STOP_STRINGS} strings of 1 to {@value #MAX_STOP_STRING_CHARS} chars</td><td>none</td><td>finish before the text would contain one</td></tr>
 *   <tr><td>logprobs</td><td>none, or 0 to {@value #MAX_LOGPROBS}</td><td>none</td><td>the sampled token's logprob plus the top n</td></tr>
 *   <tr><td>ignore_eos</td><td>boolean</td><td>false</td><td>keep going past the end-of-sequence token</td></tr>
 * </table>
 * The default of 16 for {@code max_tokens} is the OpenAI completions and vLLM default; the router
 * usually sets it from the request or the remaining context.
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        OptionalLong seed,
        float repetitionPenalty,
        float frequencyPenalty,
        float presencePenalty,
        int maxTokens,
        List<Integer> stopTokenIds,
        List<String> stopStrings,
        OptionalInt logprobs,
        boolean ignoreEos) {

    public static final int MAX_LOGPROBS = 20;
    public static final int MAX_STOP_STRINGS = 16;
    public static final int MAX_STOP_STRING_CHARS = 256;

    private static final SamplingParams DEFAULTS = new SamplingParams(1f, -1, 1f, 0f, OptionalLong.empty(), 1f, 0f, 0f, 16,
            List.of(), List.of(), OptionalInt.empty(), false);

    public SamplingParams {
        Objects.requireNonNull(seed, "seed");
        stopTokenIds = List.copyOf(Objects.requireNonNull(stopTokenIds, "stopTokenIds"));
        stopStrings = List.copyOf(Objects.requireNonNull(stopStrings, "stopStrings"));
        Objects.requireNonNull(logprobs, "logprobs");
    }

    /** These parameters as they travel between nodes. */
    public dev.baton.common.protocol.SamplingSpec toSpec() {
        return new dev.baton.common.protocol.SamplingSpec(temperature, topK, topP, minP,
                seed.isPresent() ? seed.getAsLong() : null, repetitionPenalty, frequencyPenalty, presencePenalty,
                maxTokens, stopTokenIds, stopStrings, logprobs.isPresent() ? logprobs.getAsInt() : null, ignoreEos);
    }

    /** Parameters from their wire form (not validated: call {@link #validate} on the node that samples). */
    public static SamplingParams fromSpec(dev.baton.common.protocol.SamplingSpec s) {
        return new SamplingParams(s.temperature(), s.topK(), s.topP(), s.minP(),
                s.seed() == null ? OptionalLong.empty() : OptionalLong.of(s.seed()), s.repetitionPenalty(),
                s.frequencyPenalty(), s.presencePenalty(), s.maxTokens(),
                s.stopTokenIds() == null ? List.of() : s.stopTokenIds(),
                s.stopStrings() == null ? List.of() : s.stopStrings(),
                s.logprobs() == null ? OptionalInt.empty() : OptionalInt.of(s.logprobs()), s.ignoreEos());
    }

    /** OpenAI's defaults: temperature 1, no truncation, no penalties, 16 tokens. */
    public static SamplingParams defaults() {
        return DEFAULTS;
    }

    /** The defaults with temperature 0: always the most likely token. */
    public static SamplingParams greedy() {
        return builder().temperature(0).build();
    }

    public static Builder builder() {
        return new Builder(DEFAULTS);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Whether sampling is greedy (temperature 0). */
    public boolean isGreedy() {
        return temperature == 0f;
    }

    /** Whether any of the three penalties changes logits. */
    public boolean hasPenalties() {
        return repetitionPenalty != 1f || frequencyPenalty != 0f || presencePenalty != 0f;
    }

    /**
     * Checks every field against its range (see the class comment).
     *
     * @param vocabSize     the model's vocabulary size (for stop token ids)
     * @param contextLength the model's context length (for max_tokens)
     * @return this
     * @throws InvalidSamplingParamsException naming the first field out of range, its value and the range
     */
    public SamplingParams validate(int vocabSize, int contextLength) {
        inRange("temperature", temperature, 0, true, 2, "[0, 2]");
        if (topK != -1 && topK < 1) {
            throw invalid("top_k", topK, "-1 (disabled) or an integer >= 1");
        }
        inRange("top_p", topP, 0, false, 1, "(0, 1]");
        inRange("min_p", minP, 0, true, 1, "[0, 1]");
        inRange("repetition_penalty", repetitionPenalty, 0, false, 2, "(0, 2]");
        inRange("frequency_penalty", frequencyPenalty, -2, true, 2, "[-2, 2]");
        inRange("presence_penalty", presencePenalty, -2, true, 2, "[-2, 2]");
        if (maxTokens < 1 || maxTokens > contextLength) {
            throw invalid("max_tokens", maxTokens, "[1, " + contextLength + "] (the model's context length)");
        }
        for (int id : stopTokenIds) {
            if (id < 0 || id >= vocabSize) {
                throw invalid("stop_token_ids", id, "token ids in [0, " + (vocabSize - 1) + "]");
            }
        }
        if (stopStrings.size() > MAX_STOP_STRINGS) {
            throw new InvalidSamplingParamsException("stop", "stop has " + stopStrings.size()
                    + " strings; allowed: at most " + MAX_STOP_STRINGS);
        }
        for (String s : stopStrings) {
            if (s.isEmpty() || s.length() > MAX_STOP_STRING_CHARS) {
                throw new InvalidSamplingParamsException("stop", "stop string \"" + abbreviate(s) + "\" has " + s.length()
                        + " characters; allowed: 1 to " + MAX_STOP_STRING_CHARS);
            }
        }
        if (logprobs.isPresent() && (logprobs.getAsInt() < 0 || logprobs.getAsInt() > MAX_LOGPROBS)) {
            throw invalid("logprobs", logprobs.getAsInt(), "[0, " + MAX_LOGPROBS + "]");
        }
        return this;
    }

    private static void inRange(String name, float v, float lo, boolean loInclusive, float hi, String range) {
        boolean ok = (loInclusive ? v >= lo : v > lo) && v <= hi; // false for NaN
        if (!ok) {
            throw invalid(name, v, range);
        }
    }

    private static InvalidSamplingParamsException invalid(String name, Object value, String range) {
        return new InvalidSamplingParamsException(name, name + " must be in " + range + ", got " + value);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }

    /** Mutable builder; not thread-safe. */
    public static final class Builder {
        private float temperature;
        private int topK;
        private float topP;
        private float minP;
        private OptionalLong seed;
        private float repetitionPenalty;
        private float frequencyPenalty;
        private float presencePenalty;
        private int maxTokens;
        private List<Integer> stopTokenIds;
        private List<String> stopStrings;
        private OptionalInt logprobs;
        private boolean ignoreEos;

        private Builder(SamplingParams p) {
            temperature = p.temperature;
            topK = p.topK;
            topP = p.topP;
            minP = p.minP;
            seed = p.seed;
            repetitionPenalty = p.repetitionPenalty;
            frequencyPenalty = p.frequencyPenalty;
            presencePenalty = p.presencePenalty;
            maxTokens = p.maxTokens;
            stopTokenIds = p.stopTokenIds;
            stopStrings = p.stopStrings;
            logprobs = p.logprobs;
            ignoreEos = p.ignoreEos;
        }

        public Builder temperature(float v) {
            temperature = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(float v) {
            topP = v;
            return this;
        }

        public Builder minP(float v) {
            minP = v;
            return this;
        }

        public Builder seed(long v) {
            seed = OptionalLong.of(v);
            return this;
        }

        public Builder noSeed() {
            seed = OptionalLong.empty();
            return this;
        }

        public Builder repetitionPenalty(float v) {
            repetitionPenalty = v;
            return this;
        }

        public Builder frequencyPenalty(float v) {
            frequencyPenalty = v;
            return this;
        }

        public Builder presencePenalty(float v) {
            presencePenalty = v;
            return this;
        }

        public Builder maxTokens(int v) {
            maxTokens = v;
            return this;
        }

        public Builder stopTokenIds(List<Integer> v) {
            stopTokenIds = v;
            return this;
        }

        public Builder stopStrings(List<String> v) {
            stopStrings = v;
            return this;
        }

        /** The sampled token's logprob plus the {@code topN} most likely (0 to 20). */
        public Builder logprobs(int topN) {
            logprobs = OptionalInt.of(topN);
            return this;
        }

        public Builder noLogprobs() {
            logprobs = OptionalInt.empty();
            return this;
        }

        public Builder ignoreEos(boolean v) {
            ignoreEos = v;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, minP, seed, repetitionPenalty, frequencyPenalty,
                    presencePenalty, maxTokens, stopTokenIds, stopStrings, logprobs, ignoreEos);
        }
    }
}
