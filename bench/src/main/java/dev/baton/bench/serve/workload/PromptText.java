package dev.baton.bench.serve.workload;

import java.util.random.RandomGenerator;

/**
 * Makes prompt text of a given length in tokens. Each call draws fresh random words, so two prompts share
 * no prefix by accident (which would turn into prefix-cache hits).
 *
 * <p>Lengths count what the server tokenizes: for a standalone text the special tokens the model adds
 * (BOS) are included when the implementation was built for the completions API.
 */
public interface PromptText {

    /** A text of {@code tokens} tokens. */
    String text(RandomGenerator rng, int tokens);

    /**
     * A text {@code t} such that {@code prefix + t} has exactly {@code tokens} more tokens than {@code prefix}
     * (for a shared system prompt followed by a user prompt, sent as one completions prompt). It starts with
     * a space.
     */
    String continuation(RandomGenerator rng, String prefix, int tokens);

    /** Whether lengths are exact (a tokenizer of the served model) or only approximate (about a token a word). */
    boolean exact();
}
