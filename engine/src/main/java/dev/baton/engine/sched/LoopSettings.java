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
 */
public record LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
        long importTimeoutNanos) {

    public static LoopSettings defaults() {
        return new LoopSettings(64, 1024, 256, 1_000_000L, 120_000_000_000L);
    }

    /** The same settings with another import timeout. */
    public LoopSettings withImportTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, nanos);
    }

    public LoopSettings validate() {
        if (maxRunning < 1 || maxWaiting < 0 || prefillChunkTokens < 1 || idleParkNanos < 1 || importTimeoutNanos < 1) {
            throw new EngineException("loop settings out of range: " + this);
        }
        return this;
    }
}
