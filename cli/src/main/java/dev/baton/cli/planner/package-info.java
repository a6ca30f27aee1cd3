/**
 * The SLO planner's node connectors ({@link dev.baton.planner.NodeConnector}): where the planner starts and stops
 * nodes in {@code act} mode ({@code baton.planner.connector}).
 *
 * <ul>
 *   <li>{@link dev.baton.cli.planner.Connectors}: creates the configured connector; a bad connector block is
 *       refused with a {@link dev.baton.planner.PlannerConfigException} naming the key.</li>
 *   <li>{@link dev.baton.cli.planner.ConnectorContext}: what the router knows about itself (seeds, address,
 *       model, config file, threads, Baton home).</li>
 *   <li>{@link dev.baton.cli.planner.LocalConnector}: node processes on the router's host, as {@code bin/baton up}
 *       starts them, stopped by {@code bin/baton down}; {@link dev.baton.cli.planner.PortProbe} finds their free
 *       ports.</li>
 *   <li>{@link dev.baton.cli.planner.SshConnector}: nodes on the hosts of a deploy inventory, in the slots of each
 *       host's {@code planner} block, with the deploy's own scripts.</li>
 *   <li>{@link dev.baton.cli.planner.KubernetesConnector}: the Helm chart's Deployment per role, scaled through the
 *       API server; a drained pod is chosen by its deletion cost.</li>
 *   <li>{@code ConnectorConfig}: reads a connector key, naming it in any error.</li>
 * </ul>
 */
package dev.baton.cli.planner;
