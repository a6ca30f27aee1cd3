package dev.baton.bench.serve.workload;

import java.util.random.RandomGenerator;

/**
 * Prompt text without a tokenizer: random common English words, each a single token in the vocabularies of
 * the usual LLaMA, Mistral and Qwen models when preceded by a space, so lengths are close to, not exactly,
 * the number asked for. The server's {@code usage.prompt_tokens} says the real length.
 */
public final class ApproximatePrompts implements PromptText {

    private static final String[] WORDS = ("the of and to in is that for it as was with be by on not he this are or his from "
            + "at which but have an they you were her she there one all we their can has more will if would been when who "
            + "no time so what up out said about into than them only some could new these two may first then do any like "
            + "my now over such our man me even most made after also did many before must through back years where much "
            + "your way well down should because each just those people how too little state good very make world still "
            + "own see men work long get here between both life being under never day same another know while last might "
            + "us great old year off come since against go came right used take three").split(" ");

    @Override
    public String text(RandomGenerator rng, int tokens) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(WORDS[rng.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    @Override
    public String continuation(RandomGenerator rng, String prefix, int tokens) {
        return " " + text(rng, tokens);
    }

    @Override
    public boolean exact() {
        return false;
    }
}
