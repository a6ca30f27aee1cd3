package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.router.cluster.ClusterDispatcher;
import dev.baton.router.cluster.DispatchListener;
import dev.baton.router.cluster.NodeView;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two worker nodes as separate processes (bin/baton worker) and a router-side dispatcher in this
 * JVM, all one Pekko cluster on loopback.
 */
@Timeout(240)
class WorkerClusterIT {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/small-q8_0.gguf");

    /** Collects one request's events. */
    static final class Collect implements DispatchListener {
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<String> done = new CompletableFuture<>();
        final CountDownLatch firstToken = new CountDownLatch(1);

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {}

        @Override
        public synchronized void onTokens(int[] ids, String text, dev.baton.common.protocol.GenerationEvent.Logprob[] logprobs) {
            for (int id : ids) {
                tokens.add(id);
            }
            firstToken.countDown();
        }

        @Override
        public void onFinished(String reason, String text, int promptTokens, int completionTokens) {
            done.complete(reason);
        }

        @Override
        public void onFailed(String reason, boolean retryable) {
            done.completeExceptionally(new IllegalStateException((retryable ? "retryable: " : "") + reason));
        }

        synchronized int[] ids() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Test
    void shouldSpreadRequestsOverWorkersAndFailFastWhenOneIsKilled(@TempDir Path dir) throws Exception {
        int seedPort = NodeProcess.freePort();
        Config routerConfig = ConfigFactory.parseString("pekko.remote.artery.canonical.port = " + seedPort
                + "\npekko.cluster.roles = [router]\npekko.loglevel = WARNING")
                .withFallback(ConfigFactory.parseFile(NodeProcess.root().resolve("cluster.conf").toFile()))
                .withFallback(ConfigFactory.load()).resolve();
        routerConfig = routerConfig.withValue("pekko.cluster.seed-nodes", com.typesafe.config.ConfigValueFactory
                .fromIterable(List.of("pekko://baton@127.0.0.1:" + seedPort)));
        ActorSystem<Void> router = ActorSystem.create(Behaviors.empty(), "baton", routerConfig);
        String seed = "127.0.0.1:" + seedPort;
        try (NodeProcess a = NodeProcess.start(dir, "worker-a", "worker", "--model", MODEL.toString(), "--threads", "1",
                    "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "a");
                NodeProcess b = NodeProcess.start(dir, "worker-b", "worker", "--model", MODEL.toString(), "--threads", "1",
                    "--cluster-port", Integer.toString(NodeProcess.freePort()), "--seed", seed, "--node-id", "b")) {
            ClusterDispatcher dispatcher = new ClusterDispatcher(router, Duration.ofMillis(200));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (dispatcher.nodes().stream().filter(n -> n.totalBlocks() > 0).count() < 2) {
                assertTrue(System.nanoTime() < deadline, () -> "workers did not join:\n" + a.log() + "\n" + b.log());
                Thread.sleep(200);
            }
            assertTrue(dispatcher.ready());

            // identical greedy tokens to the engine alone, and both workers used
            int[] prompt = {1, 9038, 2501, 263, 931};
            SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(20).ignoreEos(true).build();
            int[] expected;
            try (Engine e = Engine.open(EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(8L << 20))) {
                expected = new Generator(e).generate(prompt, greedy, t -> { }).tokens();
            }
            List<Collect> all = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Collect c = new Collect();
                all.add(c);
                dispatcher.submit(new RequestId(i), prompt, greedy.toSpec(), "", c);
            }
            for (Collect c : all) {
                try {
                    c.done.get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new AssertionError(e.getMessage() + "\n--- a:\n" + a.log() + "\n--- b:\n" + b.log(), e);
                }
                assertArrayEquals(expected, c.ids());
            }
            // the nodes' free blocks come with their load reports (every 500 ms)
            long freed = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!dispatcher.nodes().stream().allMatch(n -> n.totalBlocks() > 0 && n.freeBlocks() == n.totalBlocks())
                    && System.nanoTime() < freed) {
                Thread.sleep(100);
            }
            for (NodeView n : dispatcher.nodes()) {
                assertTrue(n.totalBlocks() > 0 && n.freeBlocks() == n.totalBlocks(), "blocks back on " + n);
            }

            // SIGKILL the node serving a long request: the stream moves to the survivor and completes
            Collect longRun = new Collect();
            SamplingParams long2000 = SamplingParams.builder().temperature(0).maxTokens(2000).ignoreEos(true).build();
            dispatcher.submit(new RequestId(100), prompt, long2000.toSpec(), "", longRun);
            assertTrue(longRun.firstToken.await(30, TimeUnit.SECONDS));
            NodeView serving = dispatcher.nodes().stream().filter(n -> n.inFlight() > 0).findFirst().orElseThrow();
            NodeProcess victim = serving.nodeId().equals("a") ? a : b;
            long killedAt = System.nanoTime();
            victim.kill();
            assertEquals("length", longRun.done.get(60, TimeUnit.SECONDS), "the migrated stream completes");
            double seconds = (System.nanoTime() - killedAt) / 1e9;
            assertTrue(seconds < 60, "completed " + seconds + " s after the kill");

            // new requests go to the survivor
            Collect after = new Collect();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (dispatcher.nodes().stream().anyMatch(n -> n.nodeId().equals(serving.nodeId()) && n.reachable())) {
                assertTrue(System.nanoTime() < deadline, "killed node still reachable");
                Thread.sleep(100);
            }
            dispatcher.submit(new RequestId(200), prompt, greedy.toSpec(), "", after);
            assertEquals("length", after.done.get(30, TimeUnit.SECONDS));
            assertArrayEquals(expected, after.ids());
            // the migrated stream's tokens are those of the same request undisturbed
            Collect undisturbed = new Collect();
            dispatcher.submit(new RequestId(300), prompt, long2000.toSpec(), "", undisturbed);
            assertEquals("length", undisturbed.done.get(60, TimeUnit.SECONDS));
            assertArrayEquals(undisturbed.ids(), longRun.ids(), "no token lost or repeated by the migration");
        } finally {
            router.terminate();
            router.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
        }
    }
}
