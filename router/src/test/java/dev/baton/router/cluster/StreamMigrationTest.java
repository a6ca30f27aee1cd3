package dev.baton.router.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.common.protocol.SamplingSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Stream migration in {@link ClusterDispatcher} against two scripted worker actors (docs/design.md §12): the
 * request moves to the other worker with the prompt plus the delivered tokens and the same seed, the client
 * sees every token once and in order, events of the lost attempt are ignored, and the limits hold.
 */
@Timeout(60)
class StreamMigrationTest {

    /** A worker's {@link NodeProtocol.Generate}, and which worker got it. */
    record Got(String node, NodeProtocol.Generate generate) {}

    /**
     * A worker that reports room for 100 blocks and hands every request to the test; its load reports say its
     * engine loop is stuck for as long as {@code stuckMillis} is above 0.
     */
    static Behavior<NodeProtocol.Command> worker(String id, ActorRef<Got> got, AtomicLong stuckMillis) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(NodeProtocol.WORKER_KEY, ctx.getSelf()));
            return Behaviors.receive(NodeProtocol.Command.class)
                    .onMessage(NodeProtocol.GetLoad.class, g -> {
                        g.replyTo().tell(new NodeProtocol.LoadReport(new NodeId(id), "worker", 0, 0, 100, 100, 16, 0, "",
                                "", 1, 0, false, 0, 0, stuckMillis.get()));
                        return Behaviors.same();
                    })
                    .onMessage(NodeProtocol.Generate.class, g -> {
                        got.tell(new Got(id, g));
                        return Behaviors.same();
                    })
                    .onAnyMessage(m -> Behaviors.same())
                    .build();
        });
    }

    /** What the client of one request receives. */
    static final class Client implements DispatchListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        int prefilled;
        final CompletableFuture<String> done = new CompletableFuture<>();

        @Override
        public synchronized void onPrefilled(int promptTokens, int cachedTokens) {
            prefilled++;
        }

        @Override
        public synchronized void onTokens(int[] ids, String t, GenerationEvent.Logprob[] logprobs) {
            for (int id : ids) {
                tokens.add(id);
            }
            text.append(t);
        }

        @Override
        public void onFinished(String reason, String t, int promptTokens, int completionTokens) {
            done.complete(reason + "/" + completionTokens);
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            done.complete((retryable ? "retryable: " : "failed: ") + reason);
        }

        synchronized int[] ids() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    private ActorTestKit kit;
    private TestProbe<Got> got;
    private final Map<String, ActorRef<NodeProtocol.Command>> workers = new HashMap<>();
    private final Map<String, AtomicLong> stuck = new HashMap<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    /** A test kit whose actor system is a one-member cluster, up (the dispatcher subscribes to cluster events). */
    static ActorTestKit oneMemberCluster() {
        ActorTestKit kit = ActorTestKit.create("baton", ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.remote.artery.canonical { hostname = "127.0.0.1", port = 0 }
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                pekko.cluster.downing-provider-class = ""
                pekko.loglevel = WARNING
                """).withFallback(ConfigFactory.load()));
        Cluster cluster = Cluster.get(kit.system());
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (cluster.selfMember().status() != MemberStatus.up()) {
            assertTrue(System.nanoTime() < deadline, "the test's cluster did not come up");
            Thread.onSpinWait();
        }
        return kit;
    }

    @BeforeEach
    void start() {
        kit = oneMemberCluster();
        got = kit.createTestProbe();
        for (String id : new String[] {"a", "b"}) {
            stuck.put(id, new AtomicLong());
            workers.put(id, kit.spawn(worker(id, got.getRef(), stuck.get(id)), "worker-" + id));
        }
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    private ClusterDispatcher dispatcher(int maxMigrations) throws InterruptedException {
        return dispatcher(maxMigrations, Duration.ofSeconds(10));
    }

    private ClusterDispatcher dispatcher(int maxMigrations, Duration migrationWait) throws InterruptedException {
        ClusterDispatcher d = new ClusterDispatcher(kit.system(), new RoutingSettings(1, 1, 256, 4, 64,
                Duration.ofMillis(100), maxMigrations, migrationWait, Duration.ofMillis(300),
                RoutingSettings.Sessions.DEFAULTS), registry);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!(d.ready() && d.nodes().size() == 2 && d.nodes().stream().allMatch(n -> n.totalBlocks() > 0))) {
            assertTrue(System.nanoTime() < deadline, "the workers did not report: " + d.nodes());
            Thread.sleep(20);
        }
        return d;
    }

    private static SamplingSpec spec(Long seed) {
        return new SamplingSpec(0.8f, 40, 1f, 0f, seed, 1f, 0f, 0f, 10, List.of(), List.of(), null, true);
    }

    private static void tokens(NodeProtocol.Generate g, int index, int token, String text) {
        g.replyTo().tell(new GenerationEvent.Tokens(g.requestId(), index, new int[] {token}, text, null));
    }

    @Test
    void shouldContinueTheStreamOnAnotherNodeFromTheTokensTheClientHas() throws Exception {
        ClusterDispatcher d = dispatcher(2);
        Client client = new Client();
        d.submit(new RequestId(1), new int[] {1, 2, 3}, spec(null), "", client);
        Got first = got.receiveMessage(Duration.ofSeconds(5));
        NodeProtocol.Generate g1 = first.generate();
        assertEquals(new RequestId(1), g1.requestId(), "the first attempt carries the client's id");
        assertEquals(0, g1.resumed());
        assertNotNull(g1.sampling().seed(), "the router gives every request a seed");
        g1.replyTo().tell(new GenerationEvent.Prefilled(g1.requestId(), 3, 0));
        tokens(g1, 0, 7, "a");
        tokens(g1, 2, 9, "X"); // arrives early, is never delivered: the node dies before token 1
        tokens(g1, 1, 8, "b");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (client.ids().length < 3 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertArrayEquals(new int[] {7, 8, 9}, client.ids(), "in order, early token held until its turn");

        kit.stop(workers.get(first.node())); // it leaves: its attempt moves
        Got second = got.receiveMessage(Duration.ofSeconds(10));
        NodeProtocol.Generate g2 = second.generate();
        assertNotEquals(first.node(), second.node(), "the other worker takes it over");
        assertNotEquals(g1.requestId(), g2.requestId(), "a new attempt id: the lost attempt's events are ignored");
        assertArrayEquals(new int[] {1, 2, 3, 7, 8, 9}, g2.promptTokens(), "the prompt plus the delivered tokens");
        assertEquals(3, g2.resumed());
        assertEquals(g1.sampling(), g2.sampling(), "same seed: the same draws");

        tokens(g1, 3, 99, "late"); // the lost attempt's late event
        g2.replyTo().tell(new GenerationEvent.Prefilled(g2.requestId(), 3, 0));
        tokens(g2, 3, 10, "c");
        tokens(g2, 4, 11, "d");
        g2.replyTo().tell(new GenerationEvent.Finished(g2.requestId(), "length", "", 3, 5));
        assertEquals("length/5", client.done.get(5, TimeUnit.SECONDS));
        assertArrayEquals(new int[] {7, 8, 9, 10, 11}, client.ids(), "no token lost or repeated");
        assertEquals("abXcd", client.text.toString());
        assertEquals(1, client.prefilled, "prefill reported once to the client");
        assertEquals(1.0, registry.get("baton.router.migrations").tag("reason", "node-lost").counter().count());
    }

    @Test
    void shouldFailRetryableWhenTheLimitIsReachedOrTheClientCancelled() throws Exception {
        ClusterDispatcher d = dispatcher(0);
        Client client = new Client();
        d.submit(new RequestId(2), new int[] {1, 2}, spec(5L), "", client);
        Got first = got.receiveMessage(Duration.ofSeconds(5));
        tokens(first.generate(), 0, 7, "a");
        kit.stop(workers.get(first.node()));
        String outcome = client.done.get(10, TimeUnit.SECONDS);
        assertTrue(outcome.startsWith("retryable: ") && outcome.contains("left the cluster"), outcome);
        got.expectNoMessage(Duration.ofMillis(300));
        assertEquals(0.0, registry.get("baton.router.migrations").tag("reason", "node-lost").counter().count());
    }

    @Test
    void shouldMoveAfterARetryableFailureOfAStartedAttemptOnly() throws Exception {
        ClusterDispatcher d = dispatcher(2);
        // refused before it started (the node is overloaded): the client hears it, nothing moves
        Client refused = new Client();
        d.submit(new RequestId(3), new int[] {1, 2}, spec(5L), "", refused);
        NodeProtocol.Generate r = got.receiveMessage(Duration.ofSeconds(5)).generate();
        r.replyTo().tell(new GenerationEvent.Failed(r.requestId(), "node a is overloaded", true));
        assertEquals("retryable: node a is overloaded", refused.done.get(5, TimeUnit.SECONDS));
        // failed after its first token, retryable (its KV transfer failed): it moves on
        Client moved = new Client();
        d.submit(new RequestId(4), new int[] {1, 2}, spec(5L), "", moved);
        NodeProtocol.Generate m = got.receiveMessage(Duration.ofSeconds(5)).generate();
        tokens(m, 0, 7, "a");
        m.replyTo().tell(new GenerationEvent.Failed(m.requestId(), "the prompt's KV transfer failed", true));
        NodeProtocol.Generate again = got.receiveMessage(Duration.ofSeconds(5)).generate();
        assertEquals(1, again.resumed());
        assertArrayEquals(new int[] {1, 2, 7}, again.promptTokens());
        again.replyTo().tell(new GenerationEvent.Finished(again.requestId(), "stop", "", 2, 1));
        assertEquals("stop/1", moved.done.get(5, TimeUnit.SECONDS));
        assertEquals(1.0, registry.get("baton.router.migrations").tag("reason", "node-failed").counter().count());
        // a failure that is not retryable ends the request
        Client failed = new Client();
        d.submit(new RequestId(5), new int[] {1, 2}, spec(5L), "", failed);
        NodeProtocol.Generate f = got.receiveMessage(Duration.ofSeconds(5)).generate();
        tokens(f, 0, 7, "a");
        f.replyTo().tell(new GenerationEvent.Failed(f.requestId(), "engine error: boom", false));
        assertEquals("failed: engine error: boom", failed.done.get(5, TimeUnit.SECONDS));
        got.expectNoMessage(Duration.ofMillis(300));
    }

    /** Waits until the dispatcher has seen node {@code id} stuck (or not). */
    private static void awaitStuck(ClusterDispatcher d, String id, boolean stuck) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (d.nodes().stream().noneMatch(n -> n.nodeId().equals(id) && n.healthy() != stuck)) {
            assertTrue(System.nanoTime() < deadline, "the dispatcher did not see " + id + " stuck=" + stuck);
            Thread.sleep(10);
        }
    }

    /** A started request on "a" whose node is lost while "b" cannot take it: it waits, and the client hears nothing. */
    private Got startedThenNoNodeLeft(ClusterDispatcher d, RequestId id, Client client) throws Exception {
        stuck.get("b").set(40_000);
        awaitStuck(d, "b", true);
        d.submit(id, new int[] {1, 2}, spec(5L), "", client);
        Got first = got.receiveMessage(Duration.ofSeconds(5));
        assertEquals("a", first.node(), "b is stuck: it gets no new request");
        tokens(first.generate(), 0, 7, "a");
        stuck.get("a").set(40_000); // a is lost too: its stream has nowhere to go
        awaitStuck(d, "a", true);
        return first;
    }

    @Test
    void shouldWaitForANodeWhenNoneCanTakeTheStreamOverAtOnce() throws Exception {
        ClusterDispatcher d = dispatcher(2);
        Client client = new Client();
        startedThenNoNodeLeft(d, new RequestId(6), client);
        got.expectNoMessage(Duration.ofMillis(500));
        assertTrue(!client.done.isDone(), "the stream waits for a node instead of failing: " + client.done.getNow(null));

        stuck.get("b").set(0); // b moves again: the waiting stream goes there
        Got second = got.receiveMessage(Duration.ofSeconds(5));
        assertEquals("b", second.node());
        NodeProtocol.Generate g2 = second.generate();
        assertEquals(1, g2.resumed());
        assertArrayEquals(new int[] {1, 2, 7}, g2.promptTokens(), "the prompt plus the delivered token");
        tokens(g2, 1, 8, "b");
        g2.replyTo().tell(new GenerationEvent.Finished(g2.requestId(), "length", "", 2, 2));
        assertEquals("length/2", client.done.get(5, TimeUnit.SECONDS));
        assertArrayEquals(new int[] {7, 8}, client.ids(), "no token lost or repeated");
        assertEquals(1.0, registry.get("baton.router.migrations").tag("reason", "node-lost").counter().count());
    }

    @Test
    void shouldFailRetryableWhenNoNodeCameWithinTheWait() throws Exception {
        ClusterDispatcher d = dispatcher(2, Duration.ofMillis(400));
        Client client = new Client();
        long start = System.nanoTime();
        startedThenNoNodeLeft(d, new RequestId(7), client);
        String outcome = client.done.get(10, TimeUnit.SECONDS);
        assertTrue(outcome.startsWith("retryable: ") && outcome.contains("is stuck")
                && outcome.contains("no node could take the stream over within PT0.4S"), outcome);
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(400), "it waited first");
        assertEquals(0.0, registry.get("baton.router.migrations").tag("reason", "node-lost").counter().count());
    }

    @Test
    void shouldEndAWaitingStreamAtOnceWhenItsClientCancels() throws Exception {
        ClusterDispatcher d = dispatcher(2, Duration.ofSeconds(30));
        Client client = new Client();
        startedThenNoNodeLeft(d, new RequestId(8), client);
        got.expectNoMessage(Duration.ofMillis(300));
        d.cancel(new RequestId(8), "the client went away");
        assertEquals("failed: the client went away", client.done.get(5, TimeUnit.SECONDS),
                "a cancel while it waits ends it at once");
        stuck.get("b").set(0);
        awaitStuck(d, "b", false);
        got.expectNoMessage(Duration.ofMillis(500)); // and it is not sent anywhere once a node is back
    }
}
