package dev.baton.router.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.router.api.BackendListener;
import dev.baton.router.api.GenerationBackend;
import dev.baton.router.api.ModelCard;
import dev.baton.router.api.Readiness;
import dev.baton.router.api.SubmitResult;
import java.util.List;

/**
 * The HTTP API's backend in a cluster: requests go to a prefill and a decode node, or to a worker
 * node, through the {@link ClusterDispatcher}. Admission by KV capacity happens here first,
 * synchronously, from the dispatcher's last view (decode nodes for the prompt plus
 * {@code max_tokens}, then prefill nodes for the prompt): a request no node could ever hold is
 * rejected (400), one that fits no node right now is overloaded (503 with Retry-After); the
 * dispatcher decides the nodes. The HTTP layer's admission control ({@code router/…/admission}) ran
 * before, with {@link #kvCapacityPositions()}.
 *
 * <p>Several models: a router that serves several models has one backend per model, all on the same dispatcher;
 * each is given its model's fingerprint and sees, admits to and routes to only the nodes of that model (a model with
 * no serving node is not ready and answers 503, while the others serve).
 *
 * <p>Thread-safe: every method may be called from any thread and none blocks.
 */
public final class ClusterBackend implements GenerationBackend {

    private final ClusterDispatcher dispatcher;
    private final ModelCard model;
    private final String fingerprint; // null: every node serves this model (a router serving one)

    /** The backend of a router that serves one model: every node of the cluster serves it. */
    public ClusterBackend(ClusterDispatcher dispatcher, ModelCard model) {
        this(dispatcher, model, null);
    }

    /**
     * The backend of {@code model} in a router that serves several: only the nodes whose load reports carry
     * {@code fingerprint} (the model file's {@link dev.baton.common.ModelFingerprint}) serve it.
     */
    public ClusterBackend(ClusterDispatcher dispatcher, ModelCard model, String fingerprint) {
        this.dispatcher = dispatcher;
        this.model = model;
        this.fingerprint = fingerprint;
    }

    @Override
    public ModelCard model() {
        return model;
    }

    @Override
    public Readiness readiness() {
        if (fingerprint != null) {
            return dispatcher.ready(fingerprint) ? Readiness.isReady()
                    : Readiness.notReady("no serving node of model " + model.id() + " has joined the cluster and reported"
                            + " its load yet");
        }
        return dispatcher.ready() ? Readiness.isReady()
                : Readiness.notReady("no serving node has joined the cluster and reported its load yet");
    }

    @Override
    public SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt,
            BackendListener listener) {
        return submit(id, promptTokens, params, cacheSalt, null, listener);
    }

    @Override
    public SubmitResult submit(RequestId id, int[] promptTokens, SamplingParams params, String cacheSalt,
            String session, BackendListener listener) {
        List<NodeView> nodes = nodes();
        boolean disaggregated = has(nodes, "prefill") && has(nodes, "decode");
        int positions = promptTokens.length + params.maxTokens();
        Fit fit;
        if (disaggregated) {
            fit = Fit.worse(fit(nodes, "decode", positions, "prompt plus max_tokens"),
                    fit(nodes, "prefill", promptTokens.length, "the prompt"));
        } else if (has(nodes, "worker")) {
            fit = fit(nodes, "worker", positions, "prompt plus max_tokens");
        } else {
            return new SubmitResult.Unavailable(fingerprint == null ? "no serving node is ready"
                    : "no serving node of model " + model.id() + " is ready");
        }
        switch (fit.kind()) {
            case NEVER -> {
                return new SubmitResult.Rejected(fit.reason());
            }
            case NOT_NOW -> {
                return new SubmitResult.Overloaded(fit.reason());
            }
            case NOW -> {
                dispatcher.submit(id, promptTokens, params.toSpec(), cacheSalt, session, fingerprint, new Relay(listener));
                return SubmitResult.ACCEPTED;
            }
        }
        throw new AssertionError(fit);
    }

    /** Whether a request fits the nodes of a role: now, not now (full), or never (too big for every node). */
    private record Fit(Kind kind, String reason) {
        enum Kind { NOW, NOT_NOW, NEVER }

        static Fit worse(Fit a, Fit b) {
            return a.kind.compareTo(b.kind) >= 0 ? a : b;
        }
    }

    private static boolean has(List<NodeView> nodes, String role) {
        for (NodeView n : nodes) {
            if (n.serving() && n.role().equals(role)) {
                return true;
            }
        }
        return false;
    }

    private static Fit fit(List<NodeView> nodes, String role, int positions, String what) {
        boolean fitsSomewhere = false;
        long largest = 0;
        for (NodeView n : nodes) {
            if (!n.serving() || !n.role().equals(role)) {
                continue;
            }
            long capacity = (long) n.totalBlocks() * n.blockSize();
            largest = Math.max(largest, capacity);
            fitsSomewhere |= capacity >= positions;
            if ((positions + n.blockSize() - 1) / n.blockSize() <= n.freeBlocks()) {
                return new Fit(Fit.Kind.NOW, "");
            }
        }
        return fitsSomewhere ? new Fit(Fit.Kind.NOT_NOW, "every " + role + " node's KV cache is full")
                : new Fit(Fit.Kind.NEVER, "the request needs KV room for " + positions + " positions (" + what
                        + "); the largest " + role + " node holds " + largest);
    }

    /** The nodes of this backend's model, as last seen. */
    private List<NodeView> nodes() {
        List<NodeView> all = dispatcher.nodes();
        if (fingerprint == null) {
            return all;
        }
        List<NodeView> mine = new java.util.ArrayList<>(all.size());
        for (NodeView n : all) {
            if (n.serves(fingerprint)) {
                mine.add(n);
            }
        }
        return mine;
    }

    /** KV positions of this model's usable decode nodes (disaggregated) or workers, as last reported. */
    @Override
    public long kvCapacityPositions() {
        List<NodeView> nodes = nodes();
        String role = has(nodes, "prefill") && has(nodes, "decode") ? "decode" : "worker";
        long positions = 0;
        for (NodeView n : nodes) {
            if (n.reachable() && !n.draining() && n.role().equals(role)) {
                positions += (long) n.totalBlocks() * n.blockSize();
            }
        }
        return positions;
    }

    @Override
    public void cancel(RequestId id, String reason) {
        dispatcher.cancel(id, reason);
    }

    @Override
    public boolean drain(String nodeId, String reason) {
        return dispatcher.drain(nodeId, reason);
    }

    @Override
    public JsonNode clusterView() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("model", model.id());
        root.put("ready", fingerprint == null ? dispatcher.ready() : dispatcher.ready(fingerprint));
        ArrayNode members = root.putArray("nodes");
        for (NodeView n : dispatcher.nodes()) {
            ObjectNode o = members.addObject();
            o.put("node", n.nodeId());
            o.put("address", n.address());
            o.put("role", n.role());
            if (!n.model().isEmpty()) {
                o.put("model_fingerprint", n.model());
            }
            o.put("reachable", n.reachable());
            o.put("draining", n.draining());
            o.put("healthy", n.healthy());
            if (!n.healthy()) {
                o.put("stuck_ms", n.stuckMillis());
            }
            o.put("running", n.running());
            o.put("waiting", n.waiting());
            o.put("in_flight", n.inFlight());
            o.put("generated_tokens", n.generatedTokens());
            if (!n.kvEndpoint().isEmpty()) {
                o.put("kv_endpoint", n.kvEndpoint());
            }
            ObjectNode kv = o.putObject("kv");
            kv.put("blocks_total", n.totalBlocks());
            kv.put("blocks_free", n.freeBlocks());
            kv.put("blocks_used", n.totalBlocks() - n.freeBlocks());
            kv.put("block_size", n.blockSize());
            kv.put("blocks_indexed", n.indexedBlocks());
        }
        return root;
    }

    /** Node events to the HTTP layer's listener (called on the dispatcher's actor, in order). */
    private record Relay(BackendListener listener) implements DispatchListener {

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {
            listener.onPrefilled(promptTokens, cachedTokens);
        }

        @Override
        public void onTokens(int[] tokenIds, String text, GenerationEvent.Logprob[] logprobs) {
            for (int i = 0; i < tokenIds.length; i++) {
                listener.onToken(tokenIds[i], i == tokenIds.length - 1 ? text : "",
                        logprobs == null || i >= logprobs.length ? null : logprobs[i]);
            }
        }

        @Override
        public void onFinished(String finishReason, String text, int promptTokens, int completionTokens) {
            listener.onFinished("length".equals(finishReason) ? FinishReason.LENGTH : FinishReason.STOP, text, promptTokens,
                    completionTokens);
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            listener.onFailed(reason, retryable);
        }
    }
}
