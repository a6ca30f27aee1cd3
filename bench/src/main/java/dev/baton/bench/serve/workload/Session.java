package dev.baton.bench.serve.workload;

import java.util.List;

/**
 * A conversation: its turns are sent one after the other, each carrying the history (every earlier message
 * and answer). Single-turn workloads make sessions of one turn.
 */
public record Session(int id, List<Turn> turns) {

    public Session {
        turns = List.copyOf(turns);
        if (turns.isEmpty()) {
            throw new IllegalArgumentException("session " + id + " has no turns");
        }
    }
}
