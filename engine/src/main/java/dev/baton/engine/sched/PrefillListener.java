package dev.baton.engine.sched;

/**
 * The listener of a prefill-only request ({@link EngineLoop#submitPrefill}): it hears the first
 * token like any request, and then, instead of decode tokens, receives the prompt's KV to ship.
 */
public interface PrefillListener extends GenerationListener {

    /**
     * The prompt's KV is computed and the first token sampled (already reported through
     * {@link #onToken}), and the sequence did not finish with it. Called on the loop thread. The
     * listener now owns {@code sequence.kv()}: it must free it on the loop thread (from a
     * {@link LoopAgent} or {@link EngineLoop#execute}) once the blocks are shipped or given up.
     * Neither {@link #onFinished} nor {@link #onFailed} follows for this request.
     */
    void onPrefillDone(PrefilledSequence sequence);
}
