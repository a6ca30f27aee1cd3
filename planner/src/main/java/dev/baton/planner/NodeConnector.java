package dev.baton.planner;

import java.util.Set;

/**
 * Starts and stops the nodes of a pool where they run: processes on this host, hosts of an ssh inventory,
 * a Kubernetes Deployment. The planner acts through one in {@code act} mode. Calls come from one thread at a
 * time and may block (an ssh round trip, an API call); a failure is thrown with a message that names what
 * failed, and the planner logs it and decides again at the next tick.
 */
public interface NodeConnector extends AutoCloseable {

    /** {@code local}, {@code ssh}, {@code kubernetes}. */
    String name();

    /** Starts {@code count} more nodes of {@code pool}. Returns once they are launched; they join the cluster later. */
    void start(Pool pool, int count) throws Exception;

    /**
     * Takes the ready node {@code nodeId} (chosen by the router: the pool's node with the least work) out of the
     * pool gracefully: it finishes its requests, leaves the cluster and exits, and is not started again.
     * {@code viaCluster} tells the node to drain through the cluster ({@code bin/baton drain}); a connector
     * whose platform would restart an exited node (Kubernetes) removes it there instead.
     */
    void drain(Pool pool, String nodeId, Runnable viaCluster) throws Exception;

    /**
     * Gives up on up to {@code count} nodes of {@code pool} this connector started that are not ready (not in
     * {@code readyNodeIds}): they are stopped where the connector can, the oldest first.
     */
    void abandon(Pool pool, int count, Set<String> readyNodeIds) throws Exception;

    /** Stops watching what it started; nodes it started keep running. */
    @Override
    default void close() {}
}
