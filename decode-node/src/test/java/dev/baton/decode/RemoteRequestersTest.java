package dev.baton.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.Requesters;
import java.time.Duration;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.Leave;
import org.apache.pekko.cluster.typed.Subscribe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Requesters} with a requester on another cluster member (two actor systems on loopback): the
 * requester counts as stopped when its member's incarnation leaves the cluster, and not before.
 */
@Timeout(90)
class RemoteRequestersTest {

    sealed interface Msg {}

    record Add(RequestId id, ActorRef<GenerationEvent> requester) implements Msg {}

    record Gone(ClusterEvent.MemberRemoved removed) implements Msg {}

    record Stopped(ActorRef<GenerationEvent> requester) implements Msg {}

    /** What a node actor does with its requesters, reporting the requests it would cancel to {@code cancelled}. */
    static Behavior<Msg> node(ActorRef<Set<RequestId>> cancelled) {
        return Behaviors.setup(ctx -> {
            Requesters<Msg> requesters = new Requesters<>(ctx, Stopped::new);
            Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(
                    ctx.messageAdapter(ClusterEvent.MemberRemoved.class, Gone::new), ClusterEvent.MemberRemoved.class));
            return Behaviors.receive(Msg.class)
                    .onMessage(Add.class, a -> {
                        requesters.add(a.id(), a.requester());
                        return Behaviors.same();
                    })
                    .onMessage(Gone.class, g -> {
                        for (ActorRef<GenerationEvent> r : requesters.memberRemoved(g.removed().member().uniqueAddress())) {
                            cancelled.tell(requesters.stopped(r));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Stopped.class, s -> {
                        cancelled.tell(requesters.stopped(s.requester()));
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    static Config config() {
        return ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.remote.artery.canonical { hostname = "127.0.0.1", port = 0 }
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                pekko.cluster.downing-provider-class = ""
                pekko.loglevel = WARNING
                """).withFallback(ConfigFactory.load());
    }

    @Test
    void shouldCancelTheRequestsOfARequesterWhenItsMemberLeavesAndNotBefore() {
        ActorTestKit nodeSide = ActorTestKit.create("baton", config());
        ActorTestKit routerSide = ActorTestKit.create("baton", config());
        try {
            Cluster a = Cluster.get(nodeSide.system());
            Cluster b = Cluster.get(routerSide.system());
            a.manager().tell(new Join(a.selfMember().address()));
            b.manager().tell(new Join(a.selfMember().address()));
            TestProbe<Void> wait = nodeSide.createTestProbe();
            wait.awaitAssert(Duration.ofSeconds(30), () -> {
                assertEquals(MemberStatus.up(), b.selfMember().status());
                return null;
            });

            // the router's events actor, as the node sees it: a remote reference
            TestProbe<GenerationEvent> router = routerSide.createTestProbe();
            ActorRef<GenerationEvent> remote = ActorRefResolver.get(nodeSide.system()).resolveActorRef(
                    ActorRefResolver.get(routerSide.system()).toSerializationFormat(router.ref()));
            assertFalse(remote.path().address().hasLocalScope());
            TestProbe<Set<RequestId>> cancelled = nodeSide.createTestProbe();
            ActorRef<Msg> node = nodeSide.spawn(node(cancelled.ref()));
            node.tell(new Add(new RequestId(1), remote));
            node.tell(new Add(new RequestId(2), remote));
            cancelled.expectNoMessage(Duration.ofSeconds(1)); // its member is up: nothing stopped

            b.manager().tell(new Leave(b.selfMember().address()));
            assertEquals(Set.of(new RequestId(1), new RequestId(2)), cancelled.receiveMessage(Duration.ofSeconds(30)));
        } finally {
            routerSide.shutdownTestKit();
            nodeSide.shutdownTestKit();
        }
    }
}
