package dev.baton.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.GenerationListener;
import dev.baton.engine.sched.GenerationRequest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The colocated backend of the tests: one in-process {@link Engine} and its {@link EngineLoop}.
 * Records every cancel so tests can see that the router cancelled a request.
 */
final class EngineBackend implements GenerationBackend {

    /** One {@link #cancel} call. */
    record Cancel(RequestId id, String reason) {}

    private final Engine engine;
    private final EngineLoop loop;
    private final ModelCard model;
    final List<Cancel> cancels = new CopyOnWriteArrayList<>();

    EngineBackend(Engine engine, EngineLoop loop, String modelId) {
        this.engine = engine;
        this.loop = loop;
        this.model = new ModelCard(modelId, engine.config().contextLength(), engine.tokenizer(), engine.chatTemplate(),
                1_700_000_000L);
    }

    @Override
    public ModelCard model() {
        return model;
    }

    @Override
    public Readiness readiness() {
        return Readiness.isReady();
    }

    @Override
    public SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt,
            BackendListener listener) {
        EngineLoop.SubmitResult r;
        try {
            r = loop.submit(new GenerationRequest(id, promptTokens, params, cacheSalt), new GenerationListener() {
                @Override
                public void onPrefilled(int promptTokens, int cachedTokens) {
                    listener.onPrefilled(promptTokens, cachedTokens);
                }

                @Override
                public void onToken(int tokenId, String text) {
                    listener.onToken(tokenId, text);
                }

                @Override
                public void onToken(int tokenId, String text, dev.baton.engine.sampling.TokenLogprobs logprobs) {
                    listener.onToken(tokenId, text, logprobs == null ? null
                            : dev.baton.engine.sched.EventRelay.copy(logprobs));
                }

                @Override
                public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
                    listener.onFinished(reason, text, promptTokens, completionTokens);
                }

                @Override
                public void onFailed(String reason) {
                    listener.onFailed(reason);
                }
            });
        } catch (EngineException | IllegalArgumentException e) {
            return new SubmitResult.Rejected(e.getMessage());
        }
        return switch (r) {
            case ACCEPTED -> SubmitResult.ACCEPTED;
            case QUEUE_FULL -> new SubmitResult.Overloaded("the engine's queue is full");
            case CLOSED -> new SubmitResult.Unavailable("the engine is closed");
        };
    }

    @Override
    public void cancel(RequestId id, String reason) {
        cancels.add(new Cancel(id, reason));
        loop.cancel(id, reason);
    }

    @Override
    public JsonNode clusterView() {
        ObjectNode view = JsonNodeFactory.instance.objectNode();
        ObjectNode member = view.putArray("members").addObject();
        member.put("role", "worker");
        member.put("running", loop.runningCount());
        member.put("waiting", loop.waitingCount());
        member.put("kvBlocksFree", engine.pool().freeBlockCount());
        member.put("kvBlocksTotal", engine.pool().blockCount());
        return view;
    }

    int freeBlocks() {
        return engine.pool().freeBlockCount();
    }

    int totalBlocks() {
        return engine.pool().blockCount();
    }
}
