package dev.baton.bench.serve.workload;

import java.util.List;

/**
 * What requests a benchmark sends: a list of sessions built ahead of the run from a seed, so a run is
 * reproducible and every target of a comparison gets the same prompts. Implementations are immutable.
 */
public sealed interface Workload permits RandomWorkload, SharedPrefixWorkload, MultiTurnWorkload, JsonlWorkload {

    /**
     * Sessions holding {@code requests} turns in all (the last session may be cut short).
     *
     * @param seed the same seed gives the same sessions
     */
    List<Session> sessions(int requests, long seed);

    /** A one-line description for reports. */
    String describe();
}
