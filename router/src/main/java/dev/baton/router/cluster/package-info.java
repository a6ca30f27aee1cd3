/**
 * The router's view of the cluster and the dispatch of requests to nodes.
 *
 * <ul>
 *   <li>{@link dev.baton.router.cluster.ClusterDispatcher}: discovers nodes, tracks load, picks a node, relays events, fails requests of lost nodes.</li>
 *   <li>{@link dev.baton.router.cluster.DispatchListener}: one request's events as the router receives them.</li>
 *   <li>{@link dev.baton.router.cluster.NodeView}: one node as the router sees it.</li>
 *   <li>{@link dev.baton.router.cluster.ClusterBackend}: the HTTP API's backend over the dispatcher, with admission by KV capacity.</li>
 * </ul>
 */
package dev.baton.router.cluster;
