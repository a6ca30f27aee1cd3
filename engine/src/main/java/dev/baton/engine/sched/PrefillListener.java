package dev.baton.engine.sched;

import dev.baton.engine.kv.KvSequence;

/**
 * The listener of a prefill-only request ({@link EngineLoop#submitPrefill}): it hears the first
 * token like any request, and then, instead of decode tokens, receives the prompt's KV to ship.
 */
public interface PrefillListener extends GenerationListener {

    /**
     * Part of the prompt's KV is written: positions {@code [0, computed)} of {@code kv} (computed by
     * the steps so far, or reused from the prefix cache). Called on the loop thread after each step in
     * which {@code computed} grew, except the step that computes the prompt's last position (then
     * {@link #onPrefillDone} or {@link #onFinished} follows), with {@code computed} less than the
     * prompt's length.
     *
     * <p>The loop still owns {@code kv}. Until the request ends here ({@link #onPrefillDone},
     * {@link #onFinished} or {@link #onFailed}) the listener may read, on the loop thread, the blocks
     * that hold only written positions ({@code kv.blockTable()[0 .. computed / blockSize)}): their
     * table entries and bytes no longer change. A request that fails or is cancelled has its blocks
     * freed before {@link #onFailed}: from then on the listener must not touch {@code kv}. What
     * streams a prompt's finished blocks to a decode node while the rest is computed.
     */
    default void onPrefillProgress(KvSequence kv, int computed) {}

    /**
     * The prompt's KV is computed and the first token sampled (already reported through
     * {@link #onToken}), and the sequence did not finish with it. Called on the loop thread. The
     * listener now owns {@code sequence.kv()}: it must free it on the loop thread (from a
     * {@link LoopAgent} or {@link EngineLoop#execute}) once the blocks are shipped or given up.
     * Neither {@link #onFinished} nor {@link #onFailed} follows for this request.
     */
    void onPrefillDone(PrefilledSequence sequence);
}
