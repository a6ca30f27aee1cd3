package dev.baton.router.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.common.protocol.SamplingSpec;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.router.api.BackendListener;
import dev.baton.router.api.SubmitResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Several models in one cluster, in {@link ClusterDispatcher} and {@link ClusterBackend}, against scripted nodes:
 * model A is served by two workers, model B by a prefill and a decode node. A request for a model goes only to the
 * nodes of that model (B's to B's pair, never to A's idle workers; A's to A's workers, never to B's pair), each
 * model is ready on its own, and a model without nodes answers unavailable while the other serves.
 */
@Timeout(60)
class MultiModelRoutingTest {

    static final String MODEL_A = "0000000000000000000000000000000a";
    static final String MODEL_B = "0000000000000000000000000000000b";
    static final String MODEL_C = "0000000000000000000000000000000c";

    /** A request as a scripted node received it. */
    record Got(String node, NodeProtocol.Command command) {}

    /** A node of {@code role} serving {@code model} that reports room for 100 blocks and hands requests to the test. */
    static Behavior<NodeProtocol.Command> node(String id, String role, String model, ActorRef<Got> got) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(switch (role) {
                case "prefill" -> NodeProtocol.PREFILL_KEY;
                case "decode" -> NodeProtocol.DECODE_KEY;
                default -> NodeProtocol.WORKER_KEY;
            }, ctx.getSelf()));
            return Behaviors.receive(NodeProtocol.Command.class)
                    .onMessage(NodeProtocol.GetLoad.class, g -> {
                        g.replyTo().tell(new NodeProtocol.LoadReport(new NodeId(id), role, 0, 0, 100, 100, 16, 0, "",
                                model, 1, 0, false, 0, 0, 0));
                        return Behaviors.same();
                    })
                    .onMessage(NodeProtocol.Generate.class, g -> {
                        got.tell(new Got(id, g));
                        return Behaviors.same();
                    })
                    .onMessage(NodeProtocol.Prefill.class, p -> {
                        got.tell(new Got(id, p));
                        return Behaviors.same();
                    })
                    .onMessage(NodeProtocol.Reserve.class, r -> {
                        got.tell(new Got(id, r));
                        return Behaviors.same();
                    })
                    .onAnyMessage(m -> Behaviors.same())
                    .build();
        });
    }

    private ActorTestKit kit;
    private TestProbe<Got> got;
    private ClusterDispatcher dispatcher;
    private long next = 100;

    @BeforeEach
    void start() throws InterruptedException {
        kit = StreamMigrationTest.oneMemberCluster();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        got = kit.createTestProbe();
        kit.spawn(node("a1", "worker", MODEL_A, got.getRef()), "a1");
        kit.spawn(node("a2", "worker", MODEL_A, got.getRef()), "a2");
        kit.spawn(node("b-prefill", "prefill", MODEL_B, got.getRef()), "b-prefill");
        kit.spawn(node("b-decode", "decode", MODEL_B, got.getRef()), "b-decode");
        dispatcher = new ClusterDispatcher(kit.system(), RoutingSettings.defaults(Duration.ofMillis(100)),
                new SimpleMeterRegistry());
        while (!(dispatcher.nodes().size() == 4 && dispatcher.nodes().stream().allMatch(n -> n.totalBlocks() > 0))) {
            assertTrue(System.nanoTime() < deadline, "the nodes did not report: " + dispatcher.nodes());
            Thread.sleep(20);
        }
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    private void send(String model) {
        dispatcher.submit(new RequestId(next++), new int[] {1, 2, 3, 4}, new SamplingSpec(0f, 0, 1f, 0f, 1L, 1f, 0f, 0f, 8,
                List.of(), List.of(), null, true), "", null, model, new StreamMigrationTest.Client());
    }

    @Test
    void shouldRouteEachRequestToTheNodesOfItsModelOnly() {
        for (int i = 0; i < 3; i++) {
            send(MODEL_B); // B's pair gets busier with each; A's workers stay idle and must still not be chosen
            Got first = got.receiveMessage(Duration.ofSeconds(5));
            Got second = got.receiveMessage(Duration.ofSeconds(5));
            assertEquals(java.util.Set.of("b-prefill", "b-decode"), java.util.Set.of(first.node(), second.node()),
                    "a request for B goes to B's prefill and decode nodes");
            assertTrue(first.command() instanceof NodeProtocol.Prefill || first.command() instanceof NodeProtocol.Reserve);
        }
        java.util.Set<String> aNodes = new java.util.HashSet<>();
        for (int i = 0; i < 4; i++) {
            send(MODEL_A); // with a prefill/decode pair in the cluster, A's requests still go whole to A's workers
            Got g = got.receiveMessage(Duration.ofSeconds(5));
            assertInstanceOf(NodeProtocol.Generate.class, g.command(), "A is served by workers: " + g);
            aNodes.add(g.node());
        }
        assertEquals(java.util.Set.of("a1", "a2"), aNodes, "A's requests are spread over A's workers only");
        got.expectNoMessage(Duration.ofMillis(200));
    }

    @Test
    void shouldAnswerReadinessAndAdmissionPerModel() throws Exception {
        assertTrue(dispatcher.ready(MODEL_A));
        assertTrue(dispatcher.ready(MODEL_B));
        assertFalse(dispatcher.ready(MODEL_C), "no node serves C");
        assertTrue(dispatcher.ready(), "the cluster as a whole serves");
        ClusterBackend c = new ClusterBackend(dispatcher, card("c"), MODEL_C);
        ClusterBackend a = new ClusterBackend(dispatcher, card("a"), MODEL_A);
        assertFalse(c.readiness().ready());
        assertTrue(c.readiness().reason().contains("model c"), c.readiness().reason());
        assertTrue(a.readiness().ready());
        assertEquals(2L * 100 * 16, a.kvCapacityPositions(), "A's capacity is its two workers' KV only");
        SubmitResult refused = c.submit(new RequestId(1), new int[] {1, 2, 3}, SamplingParams.builder().maxTokens(4)
                .build(), "", new Listener());
        assertInstanceOf(SubmitResult.Unavailable.class, refused, "a model with no serving node is unavailable (503)");
        assertEquals(SubmitResult.ACCEPTED, a.submit(new RequestId(2), new int[] {1, 2, 3},
                SamplingParams.builder().maxTokens(4).build(), "", new Listener()));
        Got g = got.receiveMessage(Duration.ofSeconds(5));
        assertTrue(g.node().startsWith("a"), "A's request went to " + g.node());
        // the dispatcher itself refuses a model none of its nodes serve, whatever the backend checked
        StreamMigrationTest.Client client = new StreamMigrationTest.Client();
        dispatcher.submit(new RequestId(3), new int[] {1, 2, 3, 4}, new SamplingSpec(0f, 0, 1f, 0f, 1L, 1f, 0f, 0f, 8,
                List.of(), List.of(), null, true), "", null, MODEL_C, client);
        String outcome = client.done.get(5, TimeUnit.SECONDS);
        assertTrue(outcome.startsWith("retryable: ") && outcome.contains("for this model"), outcome);
    }

    @Test
    void shouldHashEachRequestsPromptWithItsOwnModelsHasher() throws Exception {
        String modelD = "0000000000000000000000000000000d";
        ActorRef<NodeProtocol.Command> d1 = kit.spawn(node("d1", "worker", modelD, got.getRef()), "d1");
        ActorRef<NodeProtocol.Command> d2 = kit.spawn(node("d2", "worker", modelD, got.getRef()), "d2");
        int[] prompt = new int[33];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 7 + i;
        }
        // d1 holds the prompt's two full blocks as hashed for model A, d2 as hashed for model D: a request for D must
        // find its prefix on d2 only (with one hasher for every model, it would find it on d1 or nowhere)
        dev.baton.common.BlockHash[] asA = new dev.baton.common.BlockHasher(
                dev.baton.common.ModelFingerprint.parse(MODEL_A), "", 16).hashFullBlocks(prompt, 32);
        dev.baton.common.BlockHash[] asD = new dev.baton.common.BlockHasher(
                dev.baton.common.ModelFingerprint.parse(modelD), "", 16).hashFullBlocks(prompt, 32);
        ActorRef<org.apache.pekko.actor.typed.pubsub.Topic.Command<dev.baton.common.protocol.KvEvents.Batch>> topic =
                kit.spawn(org.apache.pekko.actor.typed.pubsub.Topic.create(dev.baton.common.protocol.KvEvents.Batch.class,
                        dev.baton.common.protocol.KvEvents.TOPIC), "test-kv-events");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (indexed("d1") < 2 || indexed("d2") < 2) {
            assertTrue(System.nanoTime() < deadline, "the KV events did not arrive: " + dispatcher.nodes());
            topic.tell(org.apache.pekko.actor.typed.pubsub.Topic.publish(stored("d1", asA, d1)));
            topic.tell(org.apache.pekko.actor.typed.pubsub.Topic.publish(stored("d2", asD, d2)));
            Thread.sleep(100);
        }
        for (int i = 0; i < 2; i++) {
            dispatcher.submit(new RequestId(next++), prompt, new SamplingSpec(0f, 0, 1f, 0f, 1L, 1f, 0f, 0f, 8,
                    List.of(), List.of(), null, true), "", null, modelD, new StreamMigrationTest.Client());
            assertEquals("d2", got.receiveMessage(Duration.ofSeconds(5)).node(), "D's prefix is on d2");
        }
    }

    private int indexed(String node) {
        return dispatcher.nodes().stream().filter(n -> n.nodeId().equals(node)).mapToInt(NodeView::indexedBlocks)
                .findFirst().orElse(0);
    }

    private static dev.baton.common.protocol.KvEvents.Batch stored(String node, dev.baton.common.BlockHash[] hashes,
            ActorRef<NodeProtocol.Command> ref) {
        byte[] kinds = new byte[hashes.length];
        long[] hi = new long[hashes.length];
        long[] lo = new long[hashes.length];
        int[] depths = new int[hashes.length];
        for (int i = 0; i < hashes.length; i++) {
            kinds[i] = dev.baton.common.protocol.KvEvents.STORED;
            hi[i] = hashes[i].hi();
            lo[i] = hashes[i].lo();
            depths[i] = i + 1;
        }
        return new dev.baton.common.protocol.KvEvents.Batch(new NodeId(node), 1, 1, kinds, hi, lo, depths, ref);
    }

    /** A card of the tiny oracle model under {@code id} (only the id and the vocabulary matter here). */
    private static dev.baton.router.api.ModelCard card(String id) throws java.io.IOException {
        java.nio.file.Path file = java.nio.file.Path.of(System.getProperty("baton.oracle.dir", "../../shared/oracle"),
                "models", "tiny-f32.gguf");
        try (dev.baton.engine.gguf.GgufFile gguf = dev.baton.engine.gguf.GgufFile.open(file)) {
            return dev.baton.router.api.ModelCard.fromGguf(id, gguf.metadata(), 0);
        }
    }

    /** A listener that records nothing (the routing, not the answer, is under test). */
    private static final class Listener implements BackendListener {
        @Override
        public void onToken(int tokenId, String text) {}

        @Override
        public void onFinished(dev.baton.engine.sampling.FinishReason reason, String text, int promptTokens,
                int completionTokens) {}

        @Override
        public void onFailed(String reason) {}
    }
}
