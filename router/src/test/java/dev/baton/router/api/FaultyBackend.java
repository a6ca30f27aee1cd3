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

    enum Fault { NONE, NOT_READY, QUEUE_FULL, FAIL_AFTER_TWO_TOKENS, REJECT, FLOOD, NO_ROOM_AFTER_ACCEPT }

    /** Text of each {@link Fault#FLOOD} token: big, so a client that does not read fills every buffer quickly. */
    static final String FLOOD_TEXT = "x".repeat(4096);

    /** Tokens a flood sends at most if nobody cancels it. */
    static final int FLOOD_TOKENS = 50_000;

    /** Cancels of flooding requests. */
    final java.util.List<String> floodCancels = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.Map<RequestId, Thread> floods = new java.util.concurrent.ConcurrentHashMap<>();

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
    public SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt,
            BackendListener listener) {
        return switch (fault) {
            case NONE -> real.submit(id, promptTokens, params, cacheSalt, listener);
            case NOT_READY -> new SubmitResult.Unavailable("no decode node has joined");
            case QUEUE_FULL -> new SubmitResult.Overloaded("every decode queue is full");
            case REJECT -> new SubmitResult.Rejected("the request needs 40 KV blocks but a node has 32");
            case FLOOD -> flood(id, promptTokens.length, listener);
            case NO_ROOM_AFTER_ACCEPT -> {
                // accepted, then the cluster finds no node with room (as the dispatcher may)
                listener.onFailed("no decode node has KV room for this request now", true);
                yield SubmitResult.ACCEPTED;
            }
            case FAIL_AFTER_TWO_TOKENS -> real.submit(id, promptTokens, params, cacheSalt, new BackendListener() {
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

    /** A producer far faster than any client: tokens as fast as the listener takes them, until cancelled. */
    private SubmitResult flood(RequestId id, int promptTokens, BackendListener listener) {
        Thread t = Thread.ofVirtual().unstarted(() -> {
            for (int i = 0; i < FLOOD_TOKENS; i++) {
                if (Thread.currentThread().isInterrupted()) {
                    listener.onFailed("cancelled");
                    return;
                }
                listener.onToken(0, FLOOD_TEXT);
            }
            listener.onFinished(dev.baton.engine.sampling.FinishReason.LENGTH, "", promptTokens, FLOOD_TOKENS);
        });
        floods.put(id, t);
        t.start();
        return SubmitResult.ACCEPTED;
    }

    @Override
    public void cancel(RequestId id, String reason) {
        Thread flood = floods.remove(id);
        if (flood != null) {
            floodCancels.add(reason);
            flood.interrupt();
            return;
        }
        real.cancel(id, reason);
    }

    @Override
    public JsonNode clusterView() {
        return real.clusterView();
    }
}
