package dev.baton.common.protocol;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.TransferId;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The protocol of the engine nodes (docs/design.md §3). Every role answers {@link GetLoad} and
 * {@link Cancel}; routers find each role through the Receptionist under its key.
 *
 * <pre>
 *   worker:   Generate                         (prefill and decode in one loop)
 *   decode:   Reserve, PrefillStarted, Handoff (continues requests whose prompt KV it receives);
 *             Generate                         (a prompt it holds all but a short remainder of)
 *   prefill:  Prefill, DecodeReady             (computes prompts and ships their KV)
 *
 *   router --Reserve--> D           router --Prefill--> P          (at once; D chosen first)
 *   P: prompt admitted  --PrefillStarted--> D
 *   D: blocks reserved  --DecodeReady(kv endpoint, blocks D holds already)--> P
 *   P: prompt computed, token 1 --Tokens--> router, missing KV blocks --kv-transfer--> D, --Handoff(token 1)--> D
 *   D: KV verified + token 1 -> decode batch --Tokens, Finished--> router
 * </pre>
 */
public final class NodeProtocol {

    private NodeProtocol() {}

    /** Messages the nodes accept (not sealed: each node adds private messages of its own). */
    public interface Command extends CborSerializable {}

    public static final ServiceKey<Command> WORKER_KEY = ServiceKey.create(Command.class, "baton-worker");
    public static final ServiceKey<Command> PREFILL_KEY = ServiceKey.create(Command.class, "baton-prefill");
    public static final ServiceKey<Command> DECODE_KEY = ServiceKey.create(Command.class, "baton-decode");

    /**
     * Worker: runs a whole request; events go to {@code replyTo}. Refusals arrive as {@link GenerationEvent.Failed}.
     * {@code resumed}, here and in {@link Reserve} and {@link Prefill}: how many of the last prompt tokens are
     * output tokens the client has already received (a stream migrated from a node that died, docs/design.md §12);
     * the node continues the sequence from there (sampler draws, penalties, stop strings, held-back text) and
     * numbers its tokens from that index on.
     * {@code cacheSalt}, here and in {@link Reserve} and {@link Prefill}: the tenant cache salt the
     * prompt's blocks are hashed with ({@code ""}: the shared cache).
     */
    public record Generate(RequestId requestId, int[] promptTokens, SamplingSpec sampling, String cacheSalt,
            ActorRef<GenerationEvent> replyTo, int resumed) implements Command {

        /** A new request (nothing resumed). */
        public Generate(RequestId requestId, int[] promptTokens, SamplingSpec sampling, String cacheSalt,
                ActorRef<GenerationEvent> replyTo) {
            this(requestId, promptTokens, sampling, cacheSalt, replyTo, 0);
        }
    }

    /**
     * Decode node: reserve blocks for the prompt plus {@code max_tokens} of a request whose prompt
     * KV {@code prefill} will send under {@code transferId}; tell {@code prefill} where to send it
     * ({@link DecodeReady}). Tokens from the second on, and the end, go to {@code replyTo}. The
     * sampling spec carries a seed, so both nodes draw the same random numbers.
     */
    public record Reserve(RequestId requestId, TransferId transferId, int[] promptTokens, SamplingSpec sampling,
            String cacheSalt, ActorRef<Command> prefill, ActorRef<GenerationEvent> replyTo, int resumed)
            implements Command {

        /** A new request (nothing resumed). */
        public Reserve(RequestId requestId, TransferId transferId, int[] promptTokens, SamplingSpec sampling,
                String cacheSalt, ActorRef<Command> prefill, ActorRef<GenerationEvent> replyTo) {
            this(requestId, transferId, promptTokens, sampling, cacheSalt, prefill, replyTo, 0);
        }
    }

    /**
     * Prefill node: compute the prompt and the first token (to {@code replyTo}), then ship the
     * prompt's KV under {@code transferId} to {@code decode} once it says {@link DecodeReady}.
     */
    public record Prefill(RequestId requestId, TransferId transferId, int[] promptTokens, SamplingSpec sampling,
            String cacheSalt, ActorRef<Command> decode, ActorRef<GenerationEvent> replyTo, int resumed)
            implements Command {

        /** A new request (nothing resumed). */
        public Prefill(RequestId requestId, TransferId transferId, int[] promptTokens, SamplingSpec sampling,
                String cacheSalt, ActorRef<Command> decode, ActorRef<GenerationEvent> replyTo) {
            this(requestId, transferId, promptTokens, sampling, cacheSalt, decode, replyTo, 0);
        }
    }

    /**
     * Decode to prefill node: blocks are reserved; send the KV to this kv-transfer endpoint. The decode
     * node holds the prompt's first {@code heldBlocks} blocks already (its prefix cache or host tier):
     * send the prompt's blocks from that one on.
     */
    public record DecodeReady(RequestId requestId, TransferId transferId, String kvChannel, int kvStreamId,
            int heldBlocks) implements Command {}

    /**
     * Prefill to decode node: the prompt left the prefill node's queue and is being computed; reserve its
     * blocks now (a decode node holds nothing for a request whose prompt still waits).
     */
    public record PrefillStarted(RequestId requestId, TransferId transferId) implements Command {}

    /** Prefill to decode node: the first token, sampled from the prompt's last logits (its KV follows by kv-transfer). */
    public record Handoff(RequestId requestId, TransferId transferId, int firstToken) implements Command {}

    /** Cancels a request (client gone, timeout, the other node failed); answered by a {@link GenerationEvent.Failed}. */
    public record Cancel(RequestId requestId, String reason) implements Command {}

    /** Asks for the node's whole prefix-cache state (a router resyncing its index after a gap in the KV events). */
    public record GetKvState(ActorRef<KvEvents.State> replyTo) implements Command {}

    /** Asks for a {@link LoadReport}. */
    public record GetLoad(ActorRef<LoadReport> replyTo) implements Command {}

    /**
     * A node's load as routers see it.
     *
     * @param role        worker, prefill or decode
     * @param running     sequences admitted (prefilling, decoding, or awaiting their KV)
     * @param freeBlocks  KV blocks not held by any sequence
     * @param kvEndpoint  where the node receives KV blocks (channel#stream), empty if it does not
     * @param model       the model fingerprint (hex), the root of the block hashes the node's KV events carry
     * @param kvIncarnation the incarnation of the node's KV event log
     * @param kvSeq       the sequence number of the last KV event the node published: a router whose index
     *                    stays behind it (a lost batch with none after it) resyncs
     * @param stuckMillis how long the node's engine loop has gone without progress while it has work, when that
     *                    is past its {@code baton.engine.stuck-after} (the node is stuck: routers send it nothing
     *                    new); 0 while the loop is healthy
     */
    public record LoadReport(NodeId node, String role, int running, int waiting, int freeBlocks, int totalBlocks,
            int blockSize, long generatedTokens, String kvEndpoint, String model, long kvIncarnation, long kvSeq,
            boolean draining, long queueNanos, long computeNanos, long stuckMillis) implements CborSerializable {

        /** A report of a node whose engine loop is not stuck. */
        public LoadReport(NodeId node, String role, int running, int waiting, int freeBlocks, int totalBlocks,
                int blockSize, long generatedTokens, String kvEndpoint, String model, long kvIncarnation, long kvSeq,
                boolean draining, long queueNanos, long computeNanos) {
            this(node, role, running, waiting, freeBlocks, totalBlocks, blockSize, generatedTokens, kvEndpoint, model,
                    kvIncarnation, kvSeq, draining, queueNanos, computeNanos, 0);
        }

        /** A report without queue and compute times. */
        public LoadReport(NodeId node, String role, int running, int waiting, int freeBlocks, int totalBlocks,
                int blockSize, long generatedTokens, String kvEndpoint, String model, long kvIncarnation, long kvSeq,
                boolean draining) {
            this(node, role, running, waiting, freeBlocks, totalBlocks, blockSize, generatedTokens, kvEndpoint, model,
                    kvIncarnation, kvSeq, draining, 0, 0);
        }

        /** A report of a node that is not draining. */
        public LoadReport(NodeId node, String role, int running, int waiting, int freeBlocks, int totalBlocks,
                int blockSize, long generatedTokens, String kvEndpoint, String model, long kvIncarnation, long kvSeq) {
            this(node, role, running, waiting, freeBlocks, totalBlocks, blockSize, generatedTokens, kvEndpoint, model,
                    kvIncarnation, kvSeq, false);
        }

        /** This report, marked as that of a draining node. */
        public LoadReport asDraining() {
            return new LoadReport(node, role, running, waiting, freeBlocks, totalBlocks, blockSize, generatedTokens,
                    kvEndpoint, model, kvIncarnation, kvSeq, true, queueNanos, computeNanos, stuckMillis);
        }

        /**
         * This report with the engine loop's time in queue and in compute since start, summed (nanoseconds): their
         * changes between two reports give the node's queue-to-compute ratio (the SLO planner's per-pool signal).
         */
        public LoadReport withTimes(long queue, long compute) {
            return new LoadReport(node, role, running, waiting, freeBlocks, totalBlocks, blockSize, generatedTokens,
                    kvEndpoint, model, kvIncarnation, kvSeq, draining, queue, compute, stuckMillis);
        }

        /** This report with the engine loop's stuck time ({@code stuckMillis}: 0 while it is healthy). */
        public LoadReport withStuckMillis(long millis) {
            return new LoadReport(node, role, running, waiting, freeBlocks, totalBlocks, blockSize, generatedTokens,
                    kvEndpoint, model, kvIncarnation, kvSeq, draining, queueNanos, computeNanos, millis);
        }

        /** Whether the node's engine loop is stuck: it should get no new requests until a report says otherwise. */
        public boolean stuck() {
            return stuckMillis > 0;
        }
    }

    /**
     * Drains the node gracefully, as SIGTERM does (sent by a router for {@code bin/baton drain NODE}): the
     * node stops being a routing candidate at once ({@link Draining}), finishes the requests it has (a
     * prefill node until its decode nodes hold their blocks), then leaves the cluster and exits.
     */
    public record Drain(String reason) implements Command {}

    /** The topic on which a node announces that it drains: routers stop sending it requests at once. */
    public static final String DRAINING_TOPIC = "baton-node-draining";

    /** Published on {@link #DRAINING_TOPIC} when a node starts draining ({@code ref}: its node actor). */
    public record Draining(NodeId node, ActorRef<Command> ref) implements CborSerializable {}
}
