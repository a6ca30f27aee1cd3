package dev.baton.common.protocol;

import dev.baton.common.RequestId;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * A node actor's record of who asked for which request, with one death watch per requester (a router
 * sends many requests from one actor): when a requester stops (router gone), the node learns every
 * request to cancel. Used on the actor's thread only.
 *
 * @param <M> the actor's message type
 */
public final class Requesters<M> {

    private final ActorContext<M> ctx;
    private final Function<ActorRef<GenerationEvent>, M> stoppedMessage;
    private final Map<RequestId, ActorRef<GenerationEvent>> active = new HashMap<>();
    private final Map<ActorRef<GenerationEvent>, Set<RequestId>> byRequester = new HashMap<>();

    /** @param stoppedMessage the message the actor receives when a watched requester stops */
    public Requesters(ActorContext<M> ctx, Function<ActorRef<GenerationEvent>, M> stoppedMessage) {
        this.ctx = ctx;
        this.stoppedMessage = stoppedMessage;
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
            ctx.watchWith(k, stoppedMessage.apply(k));
            return new HashSet<>();
        }).add(id);
    }

    /** The requester stopped: forgets it and returns its requests (to cancel). */
    public Set<RequestId> stopped(ActorRef<GenerationEvent> requester) {
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
                ctx.unwatch(to);
            }
        }
    }
}
