package dev.baton.bench.serve.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Tenants that each reuse one system prompt: {@code tenants} system prompts of {@code systemTokens} tokens;
 * each request picks a tenant at random and adds a fresh user prompt. With the completions API the user
 * prompt continues the system prompt in one text, and the whole prompt is exactly
 * {@code systemTokens + userTokens} tokens; with the chat API they are two messages of those lengths.
 */
public record SharedPrefixWorkload(PromptText prompts, Api api, int tenants, int systemTokens,
        LengthDistribution user, LengthDistribution output) implements Workload {

    public SharedPrefixWorkload {
        if (tenants < 1 || systemTokens < 1) {
            throw new IllegalArgumentException("--tenants and --system-tokens must be at least 1");
        }
    }

    @Override
    public List<Session> sessions(int requests, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        String[] system = new String[tenants];
        for (int t = 0; t < tenants; t++) {
            system[t] = prompts.text(rng, systemTokens);
        }
        List<Session> out = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            int t = rng.nextInt(tenants);
            int u = user.sample(rng);
            int max = output.sample(rng);
            List<Message> messages = api == Api.CHAT
                    ? List.of(Message.system(system[t]), Message.user(prompts.text(rng, u)))
                    : List.of(Message.system(system[t]), Message.user(prompts.continuation(rng, system[t], u)));
            out.add(new Session(i, List.of(new Turn(messages, max, prompts.exact() ? systemTokens + u : -1))));
        }
        return out;
    }

    @Override
    public String describe() {
        return "shared prefix: " + tenants + " tenants, system prompt " + systemTokens + ", user prompt " + user
                + ", output " + output + " tokens";
    }
}
