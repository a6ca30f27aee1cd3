package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.TokenLogprobs;
import java.util.function.Consumer;

/**
 * A {@link GenerationListener} that turns one request's output into {@link GenerationEvent}s for
 * {@code sink} (for a node, an actor's {@code tell}, which is thread-safe and does not block), and
 * runs {@code onEnd} once the request has finished or failed. Runs on the loop thread.
 */
public class EventRelay implements GenerationListener {

    protected final RequestId id;
    protected final Consumer<GenerationEvent> sink;
    private final Runnable onEnd;
    private int next;

    public EventRelay(RequestId id, Consumer<GenerationEvent> sink, Runnable onEnd) {
        this(id, sink, onEnd, 0);
    }

    /** @param firstIndex the completion index of the first token this relay will see (1 on a decode node) */
    public EventRelay(RequestId id, Consumer<GenerationEvent> sink, Runnable onEnd, int firstIndex) {
        this.id = id;
        this.sink = sink;
        this.onEnd = onEnd;
        this.next = firstIndex;
    }

    @Override
    public void onPrefilled(int promptTokens, int cachedTokens) {
        sink.accept(new GenerationEvent.Prefilled(id, promptTokens, cachedTokens));
    }

    @Override
    public void onToken(int tokenId, String text) {
        onToken(tokenId, text, null);
    }

    @Override
    public void onToken(int tokenId, String text, TokenLogprobs logprobs) {
        sink.accept(new GenerationEvent.Tokens(id, next++, new int[] {tokenId}, text,
                logprobs == null ? null : new GenerationEvent.Logprob[] {copy(logprobs)}));
    }

    /** The logprobs of the token just sampled, copied out of the sampler's reused buffers. */
    public static GenerationEvent.Logprob copy(TokenLogprobs lp) {
        int n = lp.topCount();
        int[] ids = new int[n];
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            ids[i] = lp.topId(i);
            values[i] = lp.topLogprob(i);
        }
        return new GenerationEvent.Logprob(lp.token(), lp.logprob(), ids, values);
    }

    @Override
    public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
        sink.accept(new GenerationEvent.Finished(id, reason.wireName(), text, promptTokens, completionTokens));
        onEnd.run();
    }

    @Override
    public void onFailed(String reason) {
        onFailed(reason, false);
    }

    @Override
    public void onFailed(String reason, boolean retryable) {
        sink.accept(new GenerationEvent.Failed(id, reason, retryable));
        onEnd.run();
    }
}
