package dev.baton.bench.serve.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Independent single-turn requests with random prompts: input and output lengths drawn from their
 * distributions (the prompt-heavy and decode-heavy workloads of the oracle README are
 * {@code input 720, output 32} and {@code input 75, output 200}).
 */
public record RandomWorkload(PromptText prompts, LengthDistribution input, LengthDistribution output)
        implements Workload {

    @Override
    public List<Session> sessions(int requests, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Session> out = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            int in = input.sample(rng);
            int max = output.sample(rng);
            String text = prompts.text(rng, in);
            out.add(new Session(i, List.of(new Turn(List.of(Message.user(text)), max, prompts.exact() ? in : -1))));
        }
        return out;
    }

    @Override
    public String describe() {
        return "random: input " + input + ", output " + output + " tokens" + (prompts.exact() ? "" : " (input approximate)");
    }
}
