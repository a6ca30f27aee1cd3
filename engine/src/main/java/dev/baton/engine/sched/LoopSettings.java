package dev.baton.engine.sched;

import dev.baton.engine.EngineException;

/**
 * Scheduling limits of an {@link EngineLoop}.
 *
 * @param maxRunning          sequences admitted at once (prefilling or decoding)
 * @param maxWaiting          requests queued before {@code submit} refuses with {@link EngineLoop.SubmitResult#QUEUE_FULL}
 * @param prefillChunkTokens  most prompt tokens of one sequence in one step
 * @param idleParkNanos       how long the loop parks when it has nothing to do (a submit wakes it at once)
 */
public record LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos) {

    public static LoopSettings defaults() {
        return new LoopSettings(64, 1024, 256, 1_000_000L);
    }

    public LoopSettings validate() {
        if (maxRunning < 1 || maxWaiting < 0 || prefillChunkTokens < 1 || idleParkNanos < 1) {
            throw new EngineException("loop settings out of range: " + this);
        }
        return this;
    }
}
