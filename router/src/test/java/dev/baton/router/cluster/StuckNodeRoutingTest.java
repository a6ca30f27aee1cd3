package dev.baton.router.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.common.protocol.SamplingSpec;
import dev.baton.engine.sampling.SamplingParams;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
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
 * The dispatcher against worker actors whose load reports say, as the test decides, that their engine loop is
 * stuck: a stuck worker gets no new requests and its streams move, it is shown unhealthy, the router is not
 * ready while every worker is stuck, and a worker that reports it moves again is chosen again.
 */
@Timeout(90)
class StuckNodeRoutingTest {

    private static final SamplingSpec SAMPLING = SamplingParams.builder().temperature(0).maxTokens(8).build().toSpec();

    private ActorTestKit kit;
    private ClusterDispatcher dispatcher;

    /** A worker node that reports its load (stuck for {@code stuckMillis} when above 0) and hands the rest to a probe. */
    static Behavior<NodeProtocol.Command> worker(String id, AtomicLong stuckMillis, ActorRef<NodeProtocol.Command> probe) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(NodeProtocol.WORKER_KEY, ctx.getSelf()));
            return Behaviors.receiveMessage(m -> {
                if (m instanceof NodeProtocol.GetLoad g) {
                    g.replyTo().tell(new NodeProtocol.LoadReport(new NodeId(id), "worker", 0, 0, 1000, 1000, 16, 0, "", "",
                            1, 0).withStuckMillis(stuckMillis.get()));
                } else {
                    probe.tell(m);
                }
                return Behaviors.same();
            });
        });
    }

    /** One request's outcome as the dispatcher tells it. */
    record Outcome(String kind, int[] tokens, boolean retryable) {}

    static final class Listener implements DispatchListener {
        final BlockingQueue<Outcome> events = new LinkedBlockingQueue<>();

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {
        }

        @Override
        public void onTokens(int[] tokenIds, String text, GenerationEvent.Logprob[] logprobs) {
            events.add(new Outcome("tokens", tokenIds, false));
        }

        @Override
        public void onFinished(String finishReason, String text, int promptTokens, int completionTokens) {
            events.add(new Outcome("finished", null, false));
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            events.add(new Outcome("failed:" + reason, null, retryable));
        }

        Outcome next() throws InterruptedException {
            Outcome o = events.poll(20, TimeUnit.SECONDS);
            assertTrue(o != null, "no event within 20 s");
            return o;
        }
    }

    @BeforeEach
    void start() {
        Config config = ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.remote.artery.canonical { hostname = "127.0.0.1", port = 0 }
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                pekko.cluster.downing-provider-class = ""
                pekko.loglevel = WARNING
                """).withFallback(ConfigFactory.load());
        kit = ActorTestKit.create("baton", config);
        Cluster cluster = Cluster.get(kit.system());
        cluster.manager().tell(new Join(cluster.selfMember().address()));
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
            assertEquals(MemberStatus.up(), cluster.selfMember().status());
            return null;
        });
        dispatcher = new ClusterDispatcher(kit.system(), Duration.ofMillis(100));
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within 20 s: " + what);
            Thread.sleep(20);
        }
    }

    private NodeView view(String id) {
        for (NodeView n : dispatcher.nodes()) {
            if (n.nodeId().equals(id)) {
                return n;
            }
        }
        return null;
    }

    private boolean reported(String id, boolean healthy) {
        NodeView n = view(id);
        return n != null && n.totalBlocks() > 0 && n.healthy() == healthy;
    }

    @Test
    void shouldSkipAStuckWorkerAndChooseItAgainOnceItMoves() throws Exception {
        AtomicLong aStuck = new AtomicLong();
        AtomicLong bStuck = new AtomicLong();
        TestProbe<NodeProtocol.Command> a = kit.createTestProbe();
        TestProbe<NodeProtocol.Command> b = kit.createTestProbe();
        kit.spawn(worker("a", aStuck, a.ref()), "a");
        kit.spawn(worker("b", bStuck, b.ref()), "b");
        await(() -> reported("a", true) && reported("b", true) && dispatcher.ready(), "both workers reported");

        aStuck.set(40_000);
        await(() -> reported("a", false), "a reported stuck");
        NodeView stuck = view("a");
        assertFalse(stuck.serving());
        assertTrue(stuck.stuckMillis() > 0);
        assertTrue(dispatcher.ready(), "b still serves");
        for (int i = 1; i <= 3; i++) {
            dispatcher.submit(new RequestId(i), new int[] {1, 2, 3, 4, 5}, SAMPLING, "", new Listener());
            NodeProtocol.Generate g = b.expectMessageClass(NodeProtocol.Generate.class, Duration.ofSeconds(10));
            assertEquals(new RequestId(i), g.requestId());
        }
        a.expectNoMessage(Duration.ofMillis(300)); // a is idle and cheaper, but stuck: nothing goes to it

        aStuck.set(0);
        await(() -> reported("a", true), "a reported it moves again");
        dispatcher.submit(new RequestId(4), new int[] {1, 2, 3, 4, 5}, SAMPLING, "", new Listener());
        assertEquals(new RequestId(4), a.expectMessageClass(NodeProtocol.Generate.class, Duration.ofSeconds(10)).requestId());

        aStuck.set(40_000);
        bStuck.set(40_000);
        await(() -> !dispatcher.ready(), "no worker serves while both are stuck");
        Listener refused = new Listener();
        dispatcher.submit(new RequestId(5), new int[] {1, 2, 3, 4, 5}, SAMPLING, "", refused);
        Outcome o = refused.next();
        assertTrue(o.kind().startsWith("failed:") && o.retryable(), o.kind());
    }

    @Test
    void shouldMoveTheStreamsOfAWorkerThatIsStuckAndCancelThemThere() throws Exception {
        AtomicLong aStuck = new AtomicLong();
        TestProbe<NodeProtocol.Command> a = kit.createTestProbe();
        TestProbe<NodeProtocol.Command> b = kit.createTestProbe();
        kit.spawn(worker("a", aStuck, a.ref()), "a");
        await(() -> reported("a", true), "a reported");
        Listener client = new Listener();
        int[] prompt = {1, 2, 3, 4, 5};
        dispatcher.submit(new RequestId(1), prompt, SAMPLING, "", client);
        NodeProtocol.Generate first = a.expectMessageClass(NodeProtocol.Generate.class, Duration.ofSeconds(10));
        first.replyTo().tell(new GenerationEvent.Tokens(first.requestId(), 0, new int[] {42}, "x"));
        assertArrayEquals(new int[] {42}, client.next().tokens());
        kit.spawn(worker("b", new AtomicLong(), b.ref()), "b");
        await(() -> reported("b", true), "b reported");

        aStuck.set(40_000);
        NodeProtocol.Generate moved = b.expectMessageClass(NodeProtocol.Generate.class, Duration.ofSeconds(20));
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 42}, moved.promptTokens(), "the prompt plus the delivered token");
        assertEquals(1, moved.resumed());
        assertEquals(first.sampling().seed(), moved.sampling().seed(), "the same draws");
        NodeProtocol.Cancel cancel = a.expectMessageClass(NodeProtocol.Cancel.class, Duration.ofSeconds(10));
        assertEquals(first.requestId(), cancel.requestId());
        assertTrue(cancel.reason().contains("stuck"), cancel.reason());

        // a late token of the abandoned attempt is ignored; the new node's tokens continue the stream
        first.replyTo().tell(new GenerationEvent.Tokens(first.requestId(), 1, new int[] {99}, "y"));
        moved.replyTo().tell(new GenerationEvent.Tokens(moved.requestId(), 1, new int[] {43}, "z"));
        assertArrayEquals(new int[] {43}, client.next().tokens());
        assertEquals(List.of(), List.copyOf(client.events));
    }
}
