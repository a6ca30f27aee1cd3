package dev.baton.engine.sched;

import dev.baton.engine.EngineException;

/**
 * Scheduling limits of an {@link EngineLoop}.
 *
 * @param maxRunning          sequences admitted at once (prefilling, decoding or awaiting imported KV)
 * @param maxWaiting          requests queued before {@code submit} refuses with {@link EngineLoop.SubmitResult#QUEUE_FULL}
 * @param prefillChunkTokens  most prompt tokens of one sequence in one step
 * @param idleParkNanos       how long the loop parks when it has nothing to do (a submit wakes it at once)
 * @param importTimeoutNanos  how long an imported request's reserved blocks wait for their KV before the
 *                            request fails and the blocks are freed
 * @param startTimeoutNanos   how long an import submitted with {@link EngineLoop#submitImportWhenStarted}
 *                            waits, holding no blocks, for its prefill node to start the prompt before it
 *                            fails (the prompt may be queued there behind others)
 */
public record LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
        long importTimeoutNanos, long startTimeoutNanos) {

    public static LoopSettings defaults() {
        return new LoopSettings(64, 1024, 256, 1_000_000L, 120_000_000_000L, 300_000_000_000L);
    }

    /** The same settings with another import timeout. */
    public LoopSettings withImportTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, nanos, startTimeoutNanos);
    }

    /** The same settings with another start timeout. */
    public LoopSettings withStartTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos, nanos);
    }

    public LoopSettings validate() {
        if (maxRunning < 1 || maxWaiting < 0 || prefillChunkTokens < 1 || idleParkNanos < 1 || importTimeoutNanos < 1
                || startTimeoutNanos < 1) {
            throw new EngineException("loop settings out of range: " + this);
        }
        return this;
    }
}
