package dev.baton.common.cluster;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine node's side of a refusal at join: a system actor ({@code /system/baton-join-refusals}) that hears
 * {@link JoinRefusal}s from the member that refused it, logs the reason and keeps it, so that the node can exit
 * with it once Pekko has stopped the actor system. Thread-safe: {@link #reason()} may be read from any thread.
 */
public final class JoinRefusals {

    /** The name of the system actor that hears refusals. */
    public static final String NAME = "baton-join-refusals";

    private static final Logger LOG = LoggerFactory.getLogger(JoinRefusals.class);

    /**
     * How long a refused node's shutdown waits for the reason: Pekko's refusal and Baton's travel apart (the
     * refusal may overtake the reason), and a node that stops first would never hear it.
     */
    private static final Duration WAIT_FOR_REASON = Duration.ofSeconds(3);

    private final CompletableFuture<JoinRefusal> refusal = new CompletableFuture<>();

    private JoinRefusals() {}

    /**
     * Starts the actor on {@code system}, and a task of its coordinated shutdown that, when Pekko stops the node
     * because it was refused at join, waits up to {@link #WAIT_FOR_REASON} for the reason. Call right after
     * creating the system (the join starts with it).
     */
    public static JoinRefusals start(ActorSystem<?> system, String nodeName) {
        JoinRefusals r = new JoinRefusals();
        system.systemActorOf(Behaviors.receive(JoinRefusal.class).onMessage(JoinRefusal.class, m -> {
            if (r.refusal.complete(m)) {
                LOG.error("{} was refused by the cluster at join (by {}): it does not match the cluster's engine "
                        + "nodes: {}", nodeName, m.by(), m.reason());
            }
            return Behaviors.same();
        }).build(), NAME, Props.empty());
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "baton-join-refusal", () -> {
            boolean refused = shutdown.getShutdownReason()
                    .filter(CoordinatedShutdown.incompatibleConfigurationDetectedReason()::equals).isPresent();
            return refused ? r.refusal.copy().completeOnTimeout(null, WAIT_FOR_REASON.toMillis(), TimeUnit.MILLISECONDS)
                    .handle((m, e) -> Done.getInstance()) : CompletableFuture.completedFuture(Done.getInstance());
        });
        return r;
    }

    /** Why this node was refused, or null when it was not told (not refused, or the message was lost). */
    public JoinRefusal reason() {
        return refusal.getNow(null);
    }
}
