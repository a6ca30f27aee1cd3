package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.baton.engine.Engine;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;

/**
 * A node's warm-up ({@code baton.node.warm-up}, described in cli's {@code reference.conf}): before it starts its
 * engine loop and joins the cluster, the node runs one throwaway sequence through its engine (a prompt of
 * {@code promptTokens}, then {@code decodeTokens} greedy decode steps), so that the JIT compiles the forward
 * pass's kernels before the first request rather than during it (the AOT cache gives the JIT their profiles,
 * but JDK 25 caches no compiled code). The sequence goes through {@link Generator}, which never publishes to
 * the prefix cache: its KV blocks go back to the pool unregistered (no prefix-cache entry, no KV event, no
 * metric). Immutable; read once with {@link #from} and validated.
 *
 * @param promptTokens tokens of the warm-up prompt; 0: no warm-up
 * @param decodeTokens decode steps after it (0 when promptTokens is 0)
 */
record NodeWarmUp(int promptTokens, int decodeTokens) {

    static final String PATH = "baton.node.warm-up";
    static final String PROMPT_KEY = PATH + ".prompt-tokens";
    static final String DECODE_KEY = PATH + ".decode-tokens";
    static final int MAX_TOKENS = 1024;

    /** No warm-up. */
    static final NodeWarmUp OFF = new NodeWarmUp(0, 0);

    /**
     * What a warm-up ran: the prompt and decode tokens (fewer than configured where the model's context or the
     * KV pool is smaller) and the time it took.
     */
    record Outcome(int promptTokens, int decodeTokens, long nanos) {}

    NodeWarmUp {
        check(PROMPT_KEY, promptTokens);
        check(DECODE_KEY, decodeTokens);
        if (promptTokens == 0 && decodeTokens > 0) {
            throw new ConfigException.BadValue(DECODE_KEY, "decode steps need a prompt: set " + PROMPT_KEY
                    + " to at least 1, or " + DECODE_KEY + " to 0 as well for no warm-up, got " + decodeTokens);
        }
    }

    private static void check(String key, int value) {
        if (value < 0 || value > MAX_TOKENS) {
            throw new ConfigException.BadValue(key, "must be 0 to " + MAX_TOKENS + " tokens, got " + value);
        }
    }

    /**
     * Reads the settings from a resolved root config.
     *
     * @throws ConfigException naming the key that is missing, of the wrong type or out of range
     */
    static NodeWarmUp from(Config root) {
        return new NodeWarmUp(root.getInt(PROMPT_KEY), root.getInt(DECODE_KEY));
    }

    boolean enabled() {
        return promptTokens > 0;
    }

    /**
     * Runs the warm-up sequence on {@code engine}, which nothing else may use meanwhile. The sequence is cut to fit
     * the model's context and the KV pool (a node with a small pool warms up with fewer tokens rather than failing).
     */
    Outcome run(Engine engine) {
        long t0 = System.nanoTime();
        if (!enabled()) {
            return new Outcome(0, 0, 0);
        }
        int capacity = Math.min(engine.config().contextLength(),
                engine.pool().freeBlockCount() * engine.pool().spec().blockSize());
        int prompt = promptTokens;
        if (promptTokens + decodeTokens + 1 > capacity) { // cut both in proportion, at least one prompt token
            prompt = Math.max(1, (int) ((long) (capacity - 1) * promptTokens / (promptTokens + decodeTokens)));
        }
        int decode = Math.max(0, Math.min(decodeTokens, capacity - prompt - 1));
        int[] text = engine.tokenizer().encode("Once upon a time, in a land far away, there lived a small dragon", false, false);
        int[] ids = new int[prompt];
        for (int i = 0; i < prompt; i++) {
            ids[i] = text.length == 0 ? 0 : text[i % text.length];
        }
        // maxTokens counts the first token (from the prompt's logits) too: decode steps = maxTokens - 1
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(decode + 1).ignoreEos(true).build();
        new Generator(engine).generate(ids, params, piece -> { });
        return new Outcome(prompt, decode, System.nanoTime() - t0);
    }
}
