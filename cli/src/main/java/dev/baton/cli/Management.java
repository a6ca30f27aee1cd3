package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pekko Management in a node process (deploy/k8s): the management HTTP endpoint with its health checks
 * ({@code /alive}, {@code /ready}: Pekko's cluster-membership check and Baton's {@link NodeReadinessCheck}),
 * and, with {@code baton.cluster.formation = bootstrap}, Cluster Bootstrap in place of seed nodes.
 *
 * <p>Two steps around the actor system's creation: {@link #configure(Config)} turns Baton's
 * {@code baton.management} and {@code baton.cluster} keys into Pekko Management's (the actor system reads
 * them when it starts), then {@link #start(ActorSystem)} starts what they ask for. Both run once, on the
 * command's thread, during start-up.
 */
final class Management {

    private static final Logger LOG = LoggerFactory.getLogger(Management.class);

    /** How long binding the management endpoint may take before the node gives up starting. */
    private static final long BIND_TIMEOUT_SECONDS = 30;

    private Management() {}

    /**
     * The node's configuration with Pekko Management's keys set from Baton's: the endpoint's port,
     * advertised and bind addresses; with bootstrap, no seed nodes (Pekko joins seed nodes on its own
     * as soon as the cluster extension starts).
     *
     * @throws com.typesafe.config.ConfigException naming a bad {@code baton.management} or
     *         {@code baton.cluster} key
     */
    static Config configure(Config config) {
        ManagementSettings settings = ManagementSettings.from(config);
        Config c = config;
        if (settings.enabled()) {
            c = c.withValue("pekko.management.http.port", ConfigValueFactory.fromAnyRef(settings.port()));
            if (!settings.host().isEmpty()) {
                c = c.withValue("pekko.management.http.hostname", ConfigValueFactory.fromAnyRef(settings.host()));
            }
            if (!settings.bind().isEmpty()) {
                c = c.withValue("pekko.management.http.bind-hostname", ConfigValueFactory.fromAnyRef(settings.bind()));
            }
        }
        if (settings.formation() == ClusterFormation.BOOTSTRAP) {
            List<String> seeds = c.getStringList("pekko.cluster.seed-nodes");
            if (!seeds.isEmpty()) {
                LOG.info("cluster formation: bootstrap; the seed nodes {} are not used", seeds);
            }
            c = c.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of()));
        }
        return c;
    }

    /**
     * Starts the management endpoint when {@code baton.management.port} is set, waiting until it is bound,
     * and Cluster Bootstrap when the formation is {@code bootstrap}. Reads the settings from the actor
     * system's configuration, which {@link #configure(Config)} prepared. {@code /ready} reports {@code ready}
     * (beside Pekko's cluster-membership check).
     *
     * @param ready whether the node serves: asked on every readiness probe, so cheap and thread-safe
     * @throws IllegalStateException when the endpoint cannot be bound (the port is taken, the address is
     *         not this host's), naming the address
     */
    static void start(ActorSystem<?> system, BooleanSupplier ready) throws InterruptedException {
        NodeReadiness.get(system.classicSystem()).readyWhen(ready);
        Config config = system.settings().config();
        ManagementSettings settings = ManagementSettings.from(config);
        if (!settings.enabled()) {
            return;
        }
        String where = config.getString("pekko.management.http.hostname") + ":" + settings.port();
        try {
            var uri = PekkoManagement.get(system.classicSystem()).start().toCompletableFuture()
                    .get(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            LOG.info("management endpoint on {} (/alive, /ready, /cluster/members)", uri);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot start the management endpoint on " + where
                    + " (baton.management, --management-port): " + Baton.describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the management endpoint on " + where + " was not bound after "
                    + BIND_TIMEOUT_SECONDS + " s", e);
        }
        if (settings.formation() == ClusterFormation.BOOTSTRAP) {
            ClusterBootstrap.get(system.classicSystem()).start();
            LOG.info("cluster bootstrap started: discovering contact points by {} (service {})",
                    config.getString("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"),
                    config.getString("pekko.management.cluster.bootstrap.contact-point-discovery.service-name"));
        }
    }
}
