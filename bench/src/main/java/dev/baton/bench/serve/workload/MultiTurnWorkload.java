package dev.baton.bench.serve.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chat sessions of {@code turns} turns: each turn adds a user prompt and the runner sends it with the whole
 * history (earlier prompts and the server's answers), so the context grows turn by turn and a server with
 * prefix caching can reuse it. Only the first turn's length is known ahead.
 */
public record MultiTurnWorkload(PromptText prompts, Api api, int turns, LengthDistribution user,
        LengthDistribution output) implements Workload {

    public MultiTurnWorkload {
        if (turns < 1) {
            throw new IllegalArgumentException("--turns " + turns + " must be at least 1");
        }
    }

    @Override
    public List<Session> sessions(int requests, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Session> out = new ArrayList<>();
        int left = requests;
        for (int s = 0; left > 0; s++) {
            int n = Math.min(turns, left);
            List<Turn> list = new ArrayList<>(n);
            for (int k = 0; k < n; k++) {
                int u = user.sample(rng);
                int max = output.sample(rng);
                // In a completions prompt a later user prompt follows an answer: it starts with a space.
                String text = k == 0 || api == Api.CHAT ? prompts.text(rng, u) : prompts.continuation(rng, "a", u);
                list.add(new Turn(List.of(Message.user(text)), max, k == 0 && prompts.exact() ? u : -1));
            }
            out.add(new Session(s, list));
            left -= n;
        }
        return out;
    }

    @Override
    public String describe() {
        return "multi-turn: " + turns + " turns, user prompt " + user + ", output " + output + " tokens per turn";
    }
}
