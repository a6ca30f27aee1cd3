/**
 * {@code bin/baton}: the command line (picocli).
 *
 * <ul>
 *   <li>{@link dev.baton.cli.Baton}: the root command and its error handling (one clear line, no stack trace).</li>
 *   <li>{@link dev.baton.cli.GenerateCommand}: {@code generate}, the engine in this process, text or JSON.</li>
 *   <li>{@link dev.baton.cli.BenchCommand}: {@code bench serve}, {@code bench --compare}, {@code bench profile},
 *       {@code bench engine} and {@code bench transfer}.</li>
 *   <li>{@link dev.baton.cli.BenchOverloadCommand}: {@code bench overload}, a running cluster at capacity, overloaded
 *       and at capacity again.</li>
 *   <li>{@link dev.baton.cli.ServeOptions}: the options of the serving benchmark, parsed into its settings.</li>
 *   <li>{@link dev.baton.cli.EngineOptions}: model, config, threads and KV flags shared by commands.</li>
 *   <li>{@link dev.baton.cli.BatonConfig}: loads cluster.conf (or --config) over reference.conf.</li>
 *   <li>{@link dev.baton.cli.HostKvTier}: the kv-transfer host tier as a node's second KV tier (spill and
 *       read-back), opened for node processes when it is enabled and usable.</li>
 *   <li>{@link dev.baton.cli.Management}: Pekko Management in a node process (health endpoints, Cluster Bootstrap);
 *       {@link dev.baton.cli.ManagementSettings} its settings, {@link dev.baton.cli.ClusterFormation} seeds or
 *       bootstrap, {@link dev.baton.cli.ManagementOptions} the {@code --management-port} flag.</li>
 *   <li>{@link dev.baton.cli.NodeReadiness}: where an actor system's readiness comes from (the node's
 *       {@code NodeHealth}, the router's dispatcher), which {@link dev.baton.cli.NodeReadinessCheck} reports on
 *       the management endpoint's {@code /ready}.</li>
 *   <li>{@link dev.baton.cli.NodeLauncher}: starts a node process on this host as {@code bin/baton up} does (same JVM,
 *       flags, class path; own session, log file); {@code up} and the planner's local connector use it.</li>
 *   <li>{@link dev.baton.cli.ClusterTlsEngineProvider}: Artery's TLS engines from {@code baton.cluster.tls} (mutual
 *       authentication against the cluster's certificate); {@link dev.baton.cli.ClusterOptions} switches Artery to it.</li>
 *   <li>{@link dev.baton.cli.TlsCertCommand}: {@code tls-cert}, a self-signed certificate and key as PEM.</li>
 *   <li>{@code dev.baton.cli.planner}: the SLO planner's node connectors (local, ssh, kubernetes).</li>
 *   <li>{@code dev.baton.cli.deploy}: {@code deploy up|status|down|restart}, a cluster on several hosts over ssh.</li>
 * </ul>
 */
package dev.baton.cli;
