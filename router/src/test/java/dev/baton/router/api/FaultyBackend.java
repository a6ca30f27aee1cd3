package dev.baton.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.common.RequestId;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;

/**
 * Injects the failures a real cluster has (no node yet, full queues, a node lost mid-request) in
 * front of a real {@link EngineBackend}; with {@link Fault#NONE} it passes everything through.
 */
final class FaultyBackend implements GenerationBackend {

    enum Fault { NONE, NOT_READY, QUEUE_FULL, FAIL_AFTER_TWO_TOKENS, REJECT }

    private final EngineBackend real;
    volatile Fault fault = Fault.NONE;

    FaultyBackend(EngineBackend real) {
        this.real = real;
    }

    @Override
    public ModelCard model() {
        return real.model();
    }

    @Override
    public Readiness readiness() {
        return fault == Fault.NOT_READY ? Readiness.notReady("no decode node has joined") : real.readiness();
    }

    @Override
    public SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, BackendListener listener) {
        return switch (fault) {
            case NONE -> real.submit(id, promptTokens, params, listener);
            case NOT_READY -> new SubmitResult.Unavailable("no decode node has joined");
            case QUEUE_FULL -> new SubmitResult.Overloaded("every decode queue is full");
            case REJECT -> new SubmitResult.Rejected("the request needs 40 KV blocks but a node has 32");
            case FAIL_AFTER_TWO_TOKENS -> real.submit(id, promptTokens, params, new BackendListener() {
                private int tokens;
                private boolean failed;

                @Override
                public void onToken(int tokenId, String text) {
                    if (failed) {
                        return;
                    }
                    listener.onToken(tokenId, text);
                    if (++tokens == 2) {
                        failed = true;
                        listener.onFailed("decode node d1 left the cluster");
                        real.cancel(id, "node lost");
                    }
                }

                @Override
                public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
                    if (!failed) {
                        listener.onFinished(reason, text, promptTokens, completionTokens);
                    }
                }

                @Override
                public void onFailed(String reason) {
                    if (!failed) {
                        listener.onFailed(reason);
                    }
                }
            });
        };
    }

    @Override
    public void cancel(RequestId id, String reason) {
        real.cancel(id, reason);
    }

    @Override
    public JsonNode clusterView() {
        return real.clusterView();
    }
}
