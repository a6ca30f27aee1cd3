package dev.baton.bench.serve.workload;

import dev.baton.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Prompt text of exactly the asked number of tokens for one model, checked with that model's tokenizer
 * (the engine's, which gives llama.cpp's ids).
 *
 * <p>The words are vocabulary entries that are one token each after a space ({@code " the"} in byte-level
 * BPE, {@code "▁the"} in SentencePiece), checked one by one at construction. A text is a run of random such
 * words; it is tokenized, words are added or dropped by the difference, and this repeats until the count is
 * exact (normally once or twice: only the first word of a text can take more than one token).
 *
 * <p>{@code countSpecial} says whether lengths include the special tokens the model adds to a prompt (BOS):
 * true for the completions API, where the server's {@code prompt_tokens} counts them, false for chat message
 * contents (the chat template adds its own tokens around them). Thread-safe once built.
 */
public final class TokenExactPrompts implements PromptText {

    private static final int MAX_ROUNDS = 64;

    private final Tokenizer tokenizer;
    private final boolean countSpecial;
    private final String[] words;

    public TokenExactPrompts(Tokenizer tokenizer, boolean countSpecial) {
        this.tokenizer = tokenizer;
        this.countSpecial = countSpecial;
        this.words = singleTokenWords(tokenizer);
        if (words.length == 0) {
            throw new IllegalArgumentException("the tokenizer has no word that is a single token after a space; "
                    + "token-exact prompts are not possible for this model");
        }
    }

    /** How many distinct words prompts are made of. */
    public int wordCount() {
        return words.length;
    }

    /** The token count the server sees for {@code text} sent alone (with BOS when {@code countSpecial}). */
    public int count(String text) {
        return tokenizer.encode(text, countSpecial, false).length;
    }

    private static String[] singleTokenWords(Tokenizer t) {
        int[] base = t.encode("a", false, false);
        List<String> out = new ArrayList<>();
        for (int id = 0; id < t.vocabSize(); id++) {
            String s = new String(t.tokenBytes(id), StandardCharsets.UTF_8);
            if (s.length() < 3 || s.charAt(0) != ' ' || !s.substring(1).chars().allMatch(c -> c >= 'a' && c <= 'z')) {
                continue;
            }
            int[] enc = t.encode("a" + s, false, false);
            if (enc.length == base.length + 1 && enc[enc.length - 1] == id
                    && Arrays.equals(Arrays.copyOf(enc, base.length), base)) {
                out.add(s.substring(1));
            }
        }
        return out.toArray(String[]::new);
    }

    @Override
    public String text(RandomGenerator rng, int tokens) {
        int special = count("");
        if (tokens < special) {
            throw new IllegalArgumentException("prompt length " + tokens + " is less than the " + special
                    + " special tokens the model adds to every prompt");
        }
        return fit(rng, "", tokens - special, special);
    }

    @Override
    public String continuation(RandomGenerator rng, String prefix, int tokens) {
        return fit(rng, prefix, tokens, count(prefix));
    }

    /** A text t, starting with a space when prefix is not empty, with count(prefix + t) == base + tokens. */
    private String fit(RandomGenerator rng, String prefix, int tokens, int base) {
        if (tokens < 0) {
            throw new IllegalArgumentException("prompt length " + tokens + " must not be negative");
        }
        List<String> chosen = new ArrayList<>();
        int want = tokens;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            if (want > 0) {
                for (int i = 0; i < want; i++) {
                    chosen.add(words[rng.nextInt(words.length)]);
                }
            } else {
                int drop = Math.min(chosen.size(), Math.max(1, -want));
                chosen.subList(chosen.size() - drop, chosen.size()).clear();
            }
            String text = render(prefix, chosen);
            int got = count(prefix + text) - base;
            if (got == tokens) {
                return text;
            }
            want = tokens - got;
            if (want < 0 && chosen.isEmpty()) {
                break;
            }
        }
        throw new IllegalArgumentException("could not make a prompt of exactly " + tokens + " tokens"
                + (prefix.isEmpty() ? "" : " after a prefix of " + base) + " with this tokenizer");
    }

    private static String render(String prefix, List<String> chosen) {
        StringBuilder sb = new StringBuilder();
        for (String w : chosen) {
            if (sb.length() > 0 || !prefix.isEmpty()) {
                sb.append(' ');
            }
            sb.append(w);
        }
        return sb.toString();
    }

    @Override
    public boolean exact() {
        return true;
    }
}
