package dev.baton.engine.sched;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.baton.engine.EngineException;
import dev.baton.engine.spec.SpeculationSettings;
import java.util.concurrent.TimeUnit;

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
 * @param stuckAfterNanos     how long the loop may go without completing a duty cycle while it has work before
 *                            it counts as stuck ({@link EngineLoop#isStuck()}); never less than
 *                            {@link EngineLoop#STUCK_STEP_FACTOR} times its longest step so far; 0: never stuck
 * @param speculation         speculative decoding ({@code baton.engine.speculation}): drafts verified in one step
 */
public record LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
        long importTimeoutNanos, long startTimeoutNanos, long maxWaitingTokens, long stuckAfterNanos,
        SpeculationSettings speculation) {

    /** The default bound of {@link #maxWaitingTokens()}: 256 prompts of 1,024 tokens. */
    public static final long DEFAULT_MAX_WAITING_TOKENS = 262_144;

    /** The default of {@code baton.engine.stuck-after}. */
    public static final long DEFAULT_STUCK_AFTER_NANOS = 30_000_000_000L;

    /** Settings with the default {@link #maxWaitingTokens()} and stuck-after time. */
    public LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
            long importTimeoutNanos, long startTimeoutNanos) {
        this(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos, startTimeoutNanos,
                DEFAULT_MAX_WAITING_TOKENS, DEFAULT_STUCK_AFTER_NANOS);
    }

    /** Settings with the default speculation ({@link SpeculationSettings#defaults()}). */
    public LoopSettings(int maxRunning, int maxWaiting, int prefillChunkTokens, long idleParkNanos,
            long importTimeoutNanos, long startTimeoutNanos, long maxWaitingTokens, long stuckAfterNanos) {
        this(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos, startTimeoutNanos,
                maxWaitingTokens, stuckAfterNanos, SpeculationSettings.defaults());
    }

    public static LoopSettings defaults() {
        return new LoopSettings(64, 1024, 256, 1_000_000L, 120_000_000_000L, 300_000_000_000L);
    }

    /** The same settings with other queue bounds (requests and prompt tokens). */
    public LoopSettings withQueueBounds(int requests, long promptTokens) {
        return new LoopSettings(maxRunning, requests, prefillChunkTokens, idleParkNanos, importTimeoutNanos,
                startTimeoutNanos, promptTokens, stuckAfterNanos, speculation);
    }

    /**
     * The defaults with what the configuration sets: {@code baton.engine.stuck-after} and
     * {@code baton.engine.speculation}. Errors name the key.
     */
    public static LoopSettings from(Config root) {
        long stuckAfter;
        try {
            stuckAfter = root.getDuration("baton.engine.stuck-after", TimeUnit.NANOSECONDS);
        } catch (ConfigException e) {
            throw new EngineException("configuration: " + e.getMessage(), e);
        }
        if (stuckAfter < 0) {
            throw new EngineException("baton.engine.stuck-after = " + root.getString("baton.engine.stuck-after")
                    + ": must be 0 (off) or a positive duration");
        }
        return defaults().withStuckAfterNanos(stuckAfter).withSpeculation(SpeculationSettings.from(root));
    }

    /** The same settings with another import timeout. */
    public LoopSettings withImportTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, nanos, startTimeoutNanos,
                maxWaitingTokens, stuckAfterNanos, speculation);
    }

    /** The same settings with another start timeout. */
    public LoopSettings withStartTimeoutNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos, nanos,
                maxWaitingTokens, stuckAfterNanos, speculation);
    }

    /** The same settings with another stuck-after time (0: off). */
    public LoopSettings withStuckAfterNanos(long nanos) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos,
                startTimeoutNanos, maxWaitingTokens, nanos, speculation);
    }

    /** The same settings with other speculation. */
    public LoopSettings withSpeculation(SpeculationSettings s) {
        return new LoopSettings(maxRunning, maxWaiting, prefillChunkTokens, idleParkNanos, importTimeoutNanos,
                startTimeoutNanos, maxWaitingTokens, stuckAfterNanos, s);
    }

    public LoopSettings validate() {
        if (speculation == null) {
            throw new EngineException("loop settings need speculation settings (SpeculationSettings.off() for none)");
        }
        speculation.validate();
        if (maxRunning < 1 || maxWaiting < 0 || prefillChunkTokens < 1 || idleParkNanos < 1 || importTimeoutNanos < 1
                || startTimeoutNanos < 1 || maxWaitingTokens < 1 || stuckAfterNanos < 0) {
            throw new EngineException("loop settings out of range: " + this);
        }
        return this;
    }
}
