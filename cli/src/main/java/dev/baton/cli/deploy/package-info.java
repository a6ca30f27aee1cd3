/**
 * {@code bin/baton deploy}: a cluster on several hosts over ssh, described by an inventory file.
 *
 * <ul>
 *   <li>{@link dev.baton.cli.deploy.DeployCommand}: the {@code deploy up|status|down|restart} commands.</li>
 *   <li>{@link dev.baton.cli.deploy.Inventory}: the inventory (HOCON over {@code inventory-defaults.conf}),
 *       parsed and validated once; unknown or bad keys are named.</li>
 *   <li>{@link dev.baton.cli.deploy.DeployNode}: one planned node process: host, id, ports, command line.</li>
 *   <li>{@link dev.baton.cli.deploy.Deployment}: the operations (start in order, wait for /ready, stop, rolling
 *       restart, status).</li>
 *   <li>{@link dev.baton.cli.deploy.NodeScripts}: the POSIX shell scripts run on a host (start detached, pid
 *       files, stop with a grace period, log tail).</li>
 *   <li>{@link dev.baton.cli.deploy.Ssh}: runs a script on a host with the OpenSSH client and names ssh's
 *       failures (unreachable, authentication, host key).</li>
 *   <li>{@link dev.baton.cli.deploy.PlannerSlots}: the nodes an inventory's {@code planner} blocks let the SLO
 *       planner start, with the deploy's own state, start and stop on them (the planner's ssh connector).</li>
 *   <li>{@link dev.baton.cli.deploy.InventoryException}, {@link dev.baton.cli.deploy.DeployException}: the
 *       errors, each one clear line (a node's log tail added where it exited).</li>
 * </ul>
 */
package dev.baton.cli.deploy;
