package dev.baton.router.cluster;

/**
 * What the router knows of one serving node (for routing and {@code GET /v1/cluster}).
 *
 * @param role            worker, prefill or decode
 * @param draining        the node drains: it finishes what it has and is sent nothing new
 * @param inFlight        requests this router has sent to the node and not seen end (for a prefill
 *                        node: not seen its first token)
 * @param generatedTokens tokens the node has generated since it started (its last report)
 * @param kvEndpoint      where the node receives KV blocks (channel#stream), empty if it does not
 * @param indexedBlocks   block hashes the router's KV index believes the node holds in its prefix cache
 * @param queueNanos      time the node's requests waited for admission since it started, summed (its last report)
 * @param computeNanos    time the node spent computing since it started
 * @param stuckMillis     how long the node's engine loop has been stuck (its last report; 0: healthy): a stuck
 *                        node is sent nothing new until a report says it moves again
 * @param model           the fingerprint of the model the node serves (its last report; empty before one)
 */
public record NodeView(String nodeId, String address, String role, boolean reachable, boolean draining, int running, int waiting,
        int freeBlocks, int totalBlocks, int blockSize, int inFlight, long generatedTokens, String kvEndpoint,
        int indexedBlocks, long queueNanos, long computeNanos, long stuckMillis, String model) {

    /** A view without the model's fingerprint (a router serving one model). */
    public NodeView(String nodeId, String address, String role, boolean reachable, boolean draining, int running, int waiting,
            int freeBlocks, int totalBlocks, int blockSize, int inFlight, long generatedTokens, String kvEndpoint,
            int indexedBlocks, long queueNanos, long computeNanos, long stuckMillis) {
        this(nodeId, address, role, reachable, draining, running, waiting, freeBlocks, totalBlocks, blockSize, inFlight,
                generatedTokens, kvEndpoint, indexedBlocks, queueNanos, computeNanos, stuckMillis, "");
    }

    /** Whether the node serves the model of fingerprint {@code model} (null: any model). */
    public boolean serves(String model) {
        return model == null || model.equals(this.model);
    }

    /** A view of a node that is not stuck. */
    public NodeView(String nodeId, String address, String role, boolean reachable, boolean draining, int running, int waiting,
            int freeBlocks, int totalBlocks, int blockSize, int inFlight, long generatedTokens, String kvEndpoint,
            int indexedBlocks, long queueNanos, long computeNanos) {
        this(nodeId, address, role, reachable, draining, running, waiting, freeBlocks, totalBlocks, blockSize, inFlight,
                generatedTokens, kvEndpoint, indexedBlocks, queueNanos, computeNanos, 0);
    }

    /** A view without queue and compute times. */
    public NodeView(String nodeId, String address, String role, boolean reachable, boolean draining, int running, int waiting,
            int freeBlocks, int totalBlocks, int blockSize, int inFlight, long generatedTokens, String kvEndpoint,
            int indexedBlocks) {
        this(nodeId, address, role, reachable, draining, running, waiting, freeBlocks, totalBlocks, blockSize, inFlight,
                generatedTokens, kvEndpoint, indexedBlocks, 0, 0);
    }

    /** The node's engine loop is not stuck (as of its last report). */
    public boolean healthy() {
        return stuckMillis == 0;
    }

    /** The node can take new requests: reachable, reported its KV pool, not draining, not stuck. */
    public boolean serving() {
        return reachable && !draining && healthy() && totalBlocks > 0;
    }
}
