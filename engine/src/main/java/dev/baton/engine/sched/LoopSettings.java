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
 * @param maxWaitingTokens    prompt tokens to compute (of whole and prefill-only requests) queued before
 *                            {@code submit} refuses with {@link EngineLoop.SubmitResult#QUEUE_FULL}; a request
 *                            arriving at an empty queue is taken whatever its length. Bounds the node's queue
 *                            in work, not only in requests: a burst of long prompts cannot queue minutes of it
 */
public record LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
        long importTimeoutNanos, long startTimeoutNanos, long maxWaitingTokens) {

    /** The default bound of {@link #maxWaitingTokens()}: 256 prompts of 1,024 tokens. */
    public static final long DEFAULT_MAX_WAITING_TOKENS = 262_144;

    /** Settings with the default {@link #maxWaitingTokens()}. */
    public LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
            long importTimeoutNanos, long startTimeoutNanos) {
        this(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos, startTimeoutNanos,
                DEFAULT_MAX_WAITING_TOKENS);
    }

    public static LoopSettings defaults() {
        return new LoopSettings(64, 1024, 256, 1_000_000L, 120_000_000_000L, 300_000_000_000L);
    }

    /** The same settings with other queue bounds (requests and prompt tokens). */
    public LoopSettings withQueueBounds(int requests, long promptTokens) {
        return new LoopSettings(maxRunning, requests, prefillChunkTokens, idleParkNanos, importTimeoutNanos,
                startTimeoutNanos, promptTokens);
    }

    /** The same settings with another import timeout. */
    public LoopSettings withImportTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, nanos, startTimeoutNanos,
                maxWaitingTokens);
    }

    /** The same settings with another start timeout. */
    public LoopSettings withStartTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos, nanos,
                maxWaitingTokens);
    }

    public LoopSettings validate() {
        if (maxRunning < 1 || maxWaiting < 0 || prefillChunkTokens < 1 || idleParkNanos < 1 || importTimeoutNanos < 1
                || startTimeoutNanos < 1 || maxWaitingTokens < 1) {
            throw new EngineException("loop settings out of range: " + this);
        }
        return this;
    }
}
