/**
 * Who may join a Baton cluster (docs/design.md §3, "Joining").
 *
 * <ul>
 *   <li>{@link dev.baton.common.cluster.PeerCompatibility}: what an engine node shares with the others (model, KV
 *       dtype, block size, layout, protocol version), in its configuration and its cluster role.</li>
 *   <li>{@link dev.baton.common.cluster.JoinCompatChecker}: Pekko's join check that refuses a node that differs.</li>
 *   <li>{@link dev.baton.common.cluster.JoinRefusal}, {@link dev.baton.common.cluster.JoinRefusals}: the refused
 *       node hears why.</li>
 * </ul>
 */
package dev.baton.common.cluster;
