package dev.baton.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.LoopSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The worker actor over a real engine; every message goes through Jackson CBOR (serialize-messages). */
@Timeout(120)
class WorkerNodeTest {

    static ActorTestKit kit;
    static Engine engine;
    static EngineLoop loop;
    static ActorRef<NodeProtocol.Command> worker;

    static Path model() {
        return Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    }

    @BeforeAll
    static void start() throws Exception {
        kit = ActorTestKit.create("worker-test", ConfigFactory.parseString("""
                pekko.actor.serialize-messages = on
                pekko.loglevel = WARNING
                """).withFallback(ConfigFactory.load()));
        engine = Engine.open(EngineSettings.defaults(model()).withThreads(1).withKvCacheBytes(16L << 20));
        loop = new EngineLoop(engine, LoopSettings.defaults(), "worker-loop");
        worker = kit.spawn(WorkerNode.create(new NodeId("w1"), engine, loop, dev.baton.engine.sched.KvEventFeed.start(loop,
                engine.pool(), new dev.baton.common.protocol.KvEvents.Log(new NodeId("w1"), 1))), "worker");
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        loop.close();
        engine.close();
    }

    @Test
    void shouldStreamTheTokensTheEngineGivesAlone() throws Exception {
        int[] prompt = {508, 410, 378, 298, 259, 256, 463};
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(12).ignoreEos(true).build();
        int[] expected;
        try (Engine alone = Engine.open(EngineSettings.defaults(model()).withThreads(1).withKvCacheBytes(8L << 20))) {
            expected = new Generator(alone).generate(prompt, params, t -> { }).tokens();
        }
        TestProbe<GenerationEvent> probe = kit.createTestProbe();
        worker.tell(new NodeProtocol.Generate(new RequestId(1), prompt, params.toSpec(), "", probe.getRef()));
        GenerationEvent.Prefilled pre = probe.expectMessageClass(GenerationEvent.Prefilled.class, Duration.ofSeconds(30));
        assertEquals(prompt.length, pre.promptTokens());
        List<Integer> got = new ArrayList<>();
        while (true) {
            GenerationEvent e = probe.receiveMessage(Duration.ofSeconds(30));
            if (e instanceof GenerationEvent.Tokens t) {
                for (int id : t.tokenIds()) {
                    got.add(id);
                }
            } else {
                GenerationEvent.Finished f = (GenerationEvent.Finished) e;
                assertEquals("length", f.finishReason());
                assertEquals(12, f.completionTokens());
                break;
            }
        }
        assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void shouldRefuseBadSamplingWithAReason() {
        TestProbe<GenerationEvent> probe = kit.createTestProbe();
        SamplingParams bad = SamplingParams.builder().temperature(0).maxTokens(4).build();
        var spec = new dev.baton.common.protocol.SamplingSpec(9f, -1, 1f, 0f, null, 1f, 0f, 0f, 4, List.of(), List.of(),
                null, false);
        worker.tell(new NodeProtocol.Generate(new RequestId(2), new int[] {1, 2}, spec, "", probe.getRef()));
        GenerationEvent.Failed f = probe.expectMessageClass(GenerationEvent.Failed.class, Duration.ofSeconds(10));
        assertTrue(f.reason().contains("temperature"), f.reason());
        assertFalse(f.retryable());
        assertEquals(4, bad.maxTokens());
    }

    @Test
    void shouldCancelWhenTheRequesterStopsAndFreeItsBlocks() throws Exception {
        TestProbe<GenerationEvent> probe = kit.createTestProbe();
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(400).ignoreEos(true).build();
        worker.tell(new NodeProtocol.Generate(new RequestId(3), new int[] {508, 1, 2, 3}, params.toSpec(), "",
                probe.getRef()));
        probe.expectMessageClass(GenerationEvent.Prefilled.class, Duration.ofSeconds(30));
        probe.stop();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((loop.runningCount() > 0 || engine.pool().freeBlockCount() < engine.pool().blockCount())
                && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, loop.runningCount());
        assertEquals(engine.pool().blockCount(), engine.pool().freeBlockCount());
        TestProbe<NodeProtocol.LoadReport> lp = kit.createTestProbe();
        worker.tell(new NodeProtocol.GetLoad(lp.getRef()));
        assertEquals(engine.pool().blockCount(), lp.receiveMessage().freeBlocks());
    }
}
