package dev.baton.bench.serve.workload;

import java.util.List;

/**
 * One request of a session: the messages this turn adds to the conversation (a system and a user message
 * in a first turn, a user message later; the runner adds the previous answers), the output length asked
 * for, and the prompt length the workload built, {@code -1} when it cannot be known ahead (later turns,
 * whose history holds the server's answers, or JSONL prompts without a tokenizer).
 */
public record Turn(List<Message> messages, int maxTokens, int expectedPromptTokens) {

    public Turn {
        messages = List.copyOf(messages);
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens " + maxTokens + " must be at least 1");
        }
    }
}
