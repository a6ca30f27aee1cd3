package dev.baton.router.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.RequestId;
import dev.baton.common.protocol.SamplingSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Sticky sessions in {@link ClusterDispatcher} against two scripted workers: a session's requests go to the
 * node of its last request even when the other is less loaded, until the herding guard or the node's health
 * says otherwise, and then the session follows its new node; without a session, or with sessions off, the
 * least loaded node is chosen.
 */
@Timeout(60)
class StickySessionTest {

    private ActorTestKit kit;
    private TestProbe<StreamMigrationTest.Got> got;
    private final Map<String, AtomicLong> stuck = new HashMap<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private long next = 100;

    @BeforeEach
    void start() {
        kit = StreamMigrationTest.oneMemberCluster();
        got = kit.createTestProbe();
        for (String id : new String[] {"a", "b"}) {
            stuck.put(id, new AtomicLong());
            kit.spawn(StreamMigrationTest.worker(id, got.getRef(), stuck.get(id)), "worker-" + id);
        }
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    private ClusterDispatcher dispatcher(boolean sessions) throws InterruptedException {
        ClusterDispatcher d = new ClusterDispatcher(kit.system(), new RoutingSettings(1, 1, 256, 4, 64,
                Duration.ofMillis(100), 2, Duration.ofSeconds(10), Duration.ofMillis(300),
                new RoutingSettings.Sessions(sessions, 1000, Duration.ofMinutes(10))), registry);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!(d.ready() && d.nodes().size() == 2 && d.nodes().stream().allMatch(n -> n.totalBlocks() > 0))) {
            assertTrue(System.nanoTime() < deadline, "the workers did not report: " + d.nodes());
            Thread.sleep(20);
        }
        return d;
    }

    /** Sends one request (left running: it stays in flight on its node) and returns the node it went to. */
    private String send(ClusterDispatcher d, String salt, String session) {
        d.submit(new RequestId(next++), new int[] {1, 2, 3, 4}, new SamplingSpec(0f, 0, 1f, 0f, 1L, 1f, 0f, 0f, 8,
                List.of(), List.of(), null, true), salt, session, new StreamMigrationTest.Client());
        return got.receiveMessage(Duration.ofSeconds(5)).node();
    }

    private static String other(String node) {
        return node.equals("a") ? "b" : "a";
    }

    @Test
    void shouldSendASessionToItsLastNodeUntilTheHerdingGuardThenFollowTheNewNode() throws Exception {
        ClusterDispatcher d = dispatcher(true);
        String home = send(d, "", "chat-1");
        assertEquals(home, send(d, "", "chat-1"), "the session's second turn goes where its first went");
        assertEquals(other(home), send(d, "", null), "a request without a session goes to the less loaded node");
        assertEquals(other(home), send(d, "tenant-2", "chat-1"), "the same id under another cache salt is another session");
        // home: 2 in flight, the other: 2; the session stays home until home is more than max-imbalance (4) above
        int inFlightHome = 2;
        int inFlightOther = 2;
        String went;
        while ((went = send(d, "", "chat-1")).equals(home)) {
            inFlightHome++;
            assertTrue(inFlightHome <= inFlightOther + 5, "the herding guard did not stop the session at " + inFlightHome);
        }
        assertEquals(inFlightOther + 4 + 1, inFlightHome, "it moved only once home was over the guard");
        assertEquals(other(home), went);
        assertEquals(other(home), send(d, "", "chat-1"), "the session follows its new node");
        assertTrue(registry.get("baton.routing.decisions").tag("role", "worker").tag("reason", "session").counter()
                .count() >= 5);
    }

    @Test
    void shouldLeaveANodeThatIsNoLongerUsableAndIgnoreSessionsWhenOff() throws Exception {
        ClusterDispatcher d = dispatcher(true);
        String home = send(d, "", "chat-2");
        stuck.get(home).set(40_000);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (d.nodes().stream().noneMatch(n -> n.nodeId().equals(home) && !n.healthy())) {
            assertTrue(System.nanoTime() < deadline, "the dispatcher did not see " + home + " stuck");
            Thread.sleep(10);
        }
        assertEquals(other(home), send(d, "", "chat-2"), "a stuck node does not keep its sessions");
        stuck.get(home).set(0);
        while (d.nodes().stream().noneMatch(n -> n.nodeId().equals(home) && n.healthy())) {
            assertTrue(System.nanoTime() < deadline, "the dispatcher did not see " + home + " again");
            Thread.sleep(10);
        }
        assertEquals(other(home), send(d, "", "chat-2"), "the session stays on its new node");
    }

    @Test
    void shouldRouteByLoadWhenSessionsAreOff() throws Exception {
        ClusterDispatcher d = dispatcher(false);
        String first = send(d, "", "chat-3");
        assertNotEquals(first, send(d, "", "chat-3"), "sessions off: the second request goes to the less loaded node");
    }
}
