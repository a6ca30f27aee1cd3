package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.NodeId;
import dev.baton.common.protocol.NodeActor;
import dev.baton.common.protocol.NodeProtocol;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Graceful drain of an engine node, as tasks of Pekko's coordinated shutdown, which SIGTERM (Pekko's JVM
 * shutdown hook), {@code bin/baton down} and a {@link NodeProtocol.Drain} from a router
 * ({@code bin/baton drain NODE}) all run:
 * <ol>
 *   <li>{@code before-service-unbind}: the node's {@code /ready} turns 503 (load balancers and Kubernetes
 *       stop counting it);</li>
 *   <li>{@code service-requests-done}: the node actor announces that it drains (routers stop choosing it at
 *       once) and the shutdown waits until it is idle: no request left, and for a prefill node no KV
 *       shipment left (its decode nodes hold their blocks), at most {@code baton.node.drain-timeout};</li>
 *   <li>then Pekko's own phases: the node leaves the cluster, the actor system stops, the process exits.</li>
 * </ol>
 */
final class Drain {

    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);

    /** Margin of the shutdown phase over the drain timeout, so the drain's own timeout is what ends it. */
    private static final Duration PHASE_MARGIN = Duration.ofSeconds(5);

    private Drain() {}

    /** The drain timeout of {@code config} ({@code baton.node.drain-timeout}), checked. */
    static Duration timeout(Config config) {
        Duration d = config.getDuration("baton.node.drain-timeout");
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("baton.node.drain-timeout must be more than 0, got " + d);
        }
        return d;
    }

    /** {@code baton.node.drain-settle} of {@code config}, checked against the drain timeout. */
    static Duration settle(Config config) {
        Duration timeout = timeout(config);
        Duration settle = config.getDuration("baton.node.drain-settle");
        if (settle.isNegative() || settle.compareTo(timeout) >= 0) {
            throw new IllegalArgumentException("baton.node.drain-settle must be from 0 to less than baton.node.drain-timeout ("
                    + timeout + "), got " + settle);
        }
        return settle;
    }

    /** {@code config} checked, with the coordinated-shutdown phase that waits for the drain long enough for it. */
    static Config configure(Config config) {
        settle(config);
        long ms = timeout(config).plus(PHASE_MARGIN).toMillis();
        return ConfigFactory.parseString("pekko.coordinated-shutdown.phases.service-requests-done.timeout = " + ms + "ms")
                .withFallback(config);
    }

    /** Marks the node serving once it is Up in the cluster, and adds the drain to the coordinated shutdown. */
    static void install(ActorSystem<?> system, CompletionStage<ActorRef<NodeProtocol.Command>> node, NodeHealth health,
            NodeId id) {
        Duration timeout = timeout(system.settings().config());
        Duration settle = settle(system.settings().config());
        Cluster.get(system).registerOnMemberUp(health::serving);
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "baton-not-ready", () -> {
            health.draining();
            return CompletableFuture.completedFuture(Done.getInstance());
        });
        shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "baton-drain", () -> {
            long start = System.nanoTime();
            return node.thenCompose(ref -> AskPattern.<NodeProtocol.Command, Done>ask(ref, replyTo -> new NodeActor.BeginDrain(replyTo, settle),
                            timeout, system.scheduler()))
                    .handle((done, failure) -> {
                        long ms = (System.nanoTime() - start) / 1_000_000;
                        if (failure != null) {
                            LOG.warn("{} did not drain in {} (baton.node.drain-timeout): leaving the cluster with requests "
                                    + "still on it ({})", id.value(), timeout, failure.toString());
                        } else {
                            LOG.info("{} drained in {} ms; leaving the cluster", id.value(), ms);
                        }
                        return Done.getInstance();
                    });
        });
    }
}
