package dev.baton.router.cluster;

/**
 * What the router knows of one serving node (for routing and {@code GET /v1/cluster}).
 *
 * @param inFlight        requests this router has sent to the node and not seen end
 * @param generatedTokens tokens the node has generated since it started (its last report)
 */
public record NodeView(String nodeId, String address, String role, boolean reachable, int running, int waiting,
        int freeBlocks, int totalBlocks, int blockSize, int inFlight, long generatedTokens) {}
