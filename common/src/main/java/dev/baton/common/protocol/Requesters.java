package dev.baton.common.protocol;

import dev.baton.common.RequestId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A node actor's record of who asked for which request, watching each requester once (a router sends
 * many requests from one actor): when a requester stops (router gone), the node learns every request to
 * cancel. Used on the actor's thread only.
 *
 * <p>A requester in this process is death-watched. A requester on another cluster member is tied to that
 * member's incarnation ({@link UniqueAddress}) and stops when that incarnation is removed from the cluster
 * ({@link #memberRemoved}): a router restarted on the same host and port is a new incarnation, and a
 * death watch set on its actors while the cluster still remembers the old one's removal fired at once
 * and cancelled its first requests ("requester stopped").
 *
 * @param <M> the actor's message type
 */
public final class Requesters<M> {

    private final ActorContext<M> ctx;
    private final Function<ActorRef<GenerationEvent>, M> stoppedMessage;
    private final Map<RequestId, ActorRef<GenerationEvent>> active = new HashMap<>();
    private final Map<ActorRef<GenerationEvent>, Set<RequestId>> byRequester = new HashMap<>();
    /** Requesters on other members, with the member incarnation they live on (null: not in the membership seen). */
    private final Map<ActorRef<GenerationEvent>, UniqueAddress> remote = new HashMap<>();
    private final Cluster cluster;

    /** @param stoppedMessage the message the actor receives when a watched requester stops */
    public Requesters(ActorContext<M> ctx, Function<ActorRef<GenerationEvent>, M> stoppedMessage) {
        this.ctx = ctx;
        this.stoppedMessage = stoppedMessage;
        this.cluster = clustered(ctx) ? Cluster.get(ctx.getSystem()) : null;
    }

    /** Whether the actor system is a cluster member (its requesters on other members are tracked by membership). */
    public static boolean clustered(ActorContext<?> ctx) {
        return "cluster".equals(ctx.getSystem().settings().config().getString("pekko.actor.provider"));
    }

    public boolean isActive(RequestId id) {
        return active.containsKey(id);
    }

    public int size() {
        return active.size();
    }

    /** Records a request accepted for {@code requester}, watching the requester if it is new. */
    public void add(RequestId id, ActorRef<GenerationEvent> requester) {
        active.put(id, requester);
        byRequester.computeIfAbsent(requester, k -> {
            Address at = k.path().address();
            if (cluster != null && !at.hasLocalScope()) {
                remote.put(k, incarnation(at));
            } else {
                ctx.watchWith(k, stoppedMessage.apply(k));
            }
            return new HashSet<>();
        }).add(id);
    }

    private UniqueAddress incarnation(Address at) {
        for (Member m : cluster.state().getMembers()) {
            if (m.address().equals(at)) {
                return m.uniqueAddress();
            }
        }
        return null;
    }

    /**
     * A member left the cluster: the requesters that lived on that incarnation of it (or on its address, when
     * their incarnation was not known) stopped. Call {@link #stopped} for each to learn their requests.
     */
    public List<ActorRef<GenerationEvent>> memberRemoved(UniqueAddress member) {
        List<ActorRef<GenerationEvent>> gone = new ArrayList<>();
        for (Map.Entry<ActorRef<GenerationEvent>, UniqueAddress> e : remote.entrySet()) {
            if (e.getKey().path().address().equals(member.address()) && (e.getValue() == null || e.getValue().equals(member))) {
                gone.add(e.getKey());
            }
        }
        return gone;
    }

    /** The requester stopped: forgets it and returns its requests (to cancel). */
    public Set<RequestId> stopped(ActorRef<GenerationEvent> requester) {
        remote.remove(requester);
        Set<RequestId> ids = byRequester.remove(requester);
        if (ids == null) {
            return Set.of();
        }
        ids.forEach(active::remove);
        return ids;
    }

    /** A request ended; its requester is unwatched once it has none left. */
    public void ended(RequestId id) {
        ActorRef<GenerationEvent> to = active.remove(id);
        Set<RequestId> ids = to == null ? null : byRequester.get(to);
        if (ids != null) {
            ids.remove(id);
            if (ids.isEmpty()) {
                byRequester.remove(to);
                if (remote.containsKey(to)) {
                    remote.remove(to);
                } else {
                    ctx.unwatch(to);
                }
            }
        }
    }
}
