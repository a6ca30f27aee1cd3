package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.testing.Oracle;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class EngineLoopTest {

    static EngineSettings settings(long kvBytes) {
        return EngineSettings.defaults(Oracle.model("tiny-q8_0")).withThreads(1).withKvCacheBytes(kvBytes).withBatch(64, 16);
    }

    /** Collects one request's output. */
    static class Collector implements GenerationListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        volatile int prefilledPrompt = -1;
        volatile int cachedPrompt = -1;

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {
            prefilledPrompt = promptTokens;
            cachedPrompt = cachedTokens;
        }

        @Override
        public void onToken(int tokenId, String t) {
            tokens.add(tokenId);
            text.append(t);
        }

        @Override
        public void onFinished(FinishReason reason, String t, int promptTokens, int completionTokens) {
            text.append(t);
            done.complete(reason);
        }

        @Override
        public void onFailed(String reason) {
            done.completeExceptionally(new IllegalStateException(reason));
        }

        int[] ids() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Test
    void shouldGiveEveryConcurrentRequestTheTokensItGetsAlone() throws Exception {
        SplittableRandom rnd = new SplittableRandom(42);
        int n = 24;
        int[][] prompts = new int[n][];
        SamplingParams[] params = new SamplingParams[n];
        for (int i = 0; i < n; i++) {
            prompts[i] = rnd.ints(3 + rnd.nextInt(120), 0, 508).toArray();
            SamplingParams.Builder b = SamplingParams.builder().maxTokens(1 + rnd.nextInt(40)).ignoreEos(true);
            params[i] = (i % 3 == 0 ? b.temperature(0.9f).topP(0.9f).seed(i) : b.temperature(0)).build();
        }
        Generator.Result[] expected = new Generator.Result[n];
        try (Engine alone = Engine.open(settings(32L << 20))) {
            for (int i = 0; i < n; i++) {
                expected[i] = new Generator(alone).generate(prompts[i], params[i], t -> { });
            }
        }
        Collector[] got = new Collector[n];
        try (Engine e = Engine.open(settings(32L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            for (int i = 0; i < n; i++) {
                got[i] = new Collector();
                assertEquals(EngineLoop.SubmitResult.ACCEPTED,
                        loop.submit(new GenerationRequest(new RequestId(i), prompts[i], params[i]), got[i]));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i].finishReason(), got[i].done.get(60, TimeUnit.SECONDS));
                assertArrayEquals(expected[i].tokens(), got[i].ids(), "request " + i);
                assertEquals(expected[i].text(), got[i].text.toString(), "request " + i);
                assertEquals(prompts[i].length, got[i].prefilledPrompt);
            }
            assertTrue(loop.stepCount() < expected.length * 20L, "requests must share steps: " + loop.stepCount());
            assertEquals(e.pool().blockCount(), e.pool().freeBlockCount(), "every block returned");
        }
    }

    @Test
    void shouldFreeTheBlocksOfACancelledRequest() throws Exception {
        try (Engine e = Engine.open(settings(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            CountDownLatch firstTokens = new CountDownLatch(3);
            Collector c = new Collector() {
                @Override
                public void onToken(int tokenId, String t) {
                    super.onToken(tokenId, t);
                    firstTokens.countDown();
                }
            };
            loop.submit(new GenerationRequest(new RequestId(1), new int[] {508, 1, 2, 3},
                    SamplingParams.builder().temperature(0).maxTokens(400).ignoreEos(true).build()), c);
            assertTrue(firstTokens.await(30, TimeUnit.SECONDS));
            assertTrue(e.pool().freeBlockCount() < e.pool().blockCount());
            loop.cancel(new RequestId(1), "client disconnected");
            Exception ex = assertThrows(Exception.class, () -> c.done.get(10, TimeUnit.SECONDS));
            assertTrue(ex.getCause().getMessage().contains("client disconnected"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (loop.runningCount() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(c.tokens.size() < 400);
            assertEquals(0, loop.runningCount());
        }
    }

    @Test
    void shouldQueueRequestsWhileTheKvPoolIsFullAndServeThemLater() throws Exception {
        // tiny-q8_0 blocks are 8 KiB (F32); 12 blocks hold two requests of 80 positions at a time
        try (Engine e = Engine.open(settings(12 * 8192L)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            AtomicInteger maxRunning = new AtomicInteger();
            List<Collector> all = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Collector c = new Collector() {
                    @Override
                    public void onToken(int tokenId, String t) {
                        super.onToken(tokenId, t);
                        maxRunning.accumulateAndGet(loop.runningCount(), Math::max);
                    }
                };
                all.add(c);
                loop.submit(new GenerationRequest(new RequestId(i), new SplittableRandom(i).ints(40, 0, 508).toArray(),
                        SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build()), c);
            }
            for (Collector c : all) {
                assertEquals(FinishReason.LENGTH, c.done.get(60, TimeUnit.SECONDS));
                assertEquals(40, c.tokens.size());
            }
            assertTrue(maxRunning.get() <= 2, "at most two requests fit the pool, saw " + maxRunning.get());
            assertEquals(12, e.pool().freeBlockCount());
        }
    }

    @Test
    void shouldCountTokensStepsAndBlocksInItsMeters() throws Exception {
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (Engine e = Engine.open(settings(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t",
                registry, io.micrometer.core.instrument.Tags.of("role", "worker"))) {
            List<Collector> all = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Collector c = new Collector();
                all.add(c);
                loop.submit(new GenerationRequest(new RequestId(i), new int[] {508, 1, 2, 3, 4},
                        SamplingParams.builder().temperature(0).maxTokens(10).ignoreEos(true).build()), c);
            }
            for (Collector c : all) {
                c.done.get(30, TimeUnit.SECONDS);
            }
            assertEquals(30.0, registry.get("baton.tokens").tag("phase", "decode").functionCounter().count());
            assertEquals(15.0, registry.get("baton.tokens").tag("phase", "prefill").functionCounter().count());
            assertEquals(0.0, registry.get("baton.kv.blocks").tag("state", "used").gauge().value());
            assertEquals(3, registry.get("baton.queue.time").timer().count());
            assertEquals(loop.stepCount(), registry.get("baton.step.time").timer().count());
            assertTrue(registry.get("baton.queue.compute.ratio").gauge().value() >= 0);
        }
    }

    @Test
    void shouldRefuseRequestsThatCanNeverRun() throws Exception {
        try (Engine e = Engine.open(settings(12 * 8192L)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            EngineException tooBig = assertThrows(EngineException.class, () -> loop.submit(new GenerationRequest(
                    new RequestId(1), new int[300], SamplingParams.builder().maxTokens(10).build()), new Collector()));
            assertTrue(tooBig.getMessage().contains("needs 20 KV blocks") && tooBig.getMessage().contains("pool has 12"),
                    tooBig.getMessage());
            EngineException badToken = assertThrows(EngineException.class, () -> loop.submit(new GenerationRequest(
                    new RequestId(2), new int[] {1, 99999}, SamplingParams.greedy()), new Collector()));
            assertTrue(badToken.getMessage().contains("99999"), badToken.getMessage());
        }
    }

    @Test
    void shouldRefuseRequestsPastTheQueuedPromptTokenBound() throws Exception {
        try (Engine e = Engine.open(settings(8L << 20));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults().withQueueBounds(1024, 100), "t")) {
            CountDownLatch hold = new CountDownLatch(1);
            loop.execute(() -> { // holds the loop thread: nothing submitted after this is admitted until released
                try {
                    hold.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            });
            SamplingParams p = SamplingParams.builder().temperature(0).maxTokens(2).ignoreEos(true).build();
            Collector big = new Collector();
            Collector small = new Collector();
            assertEquals(EngineLoop.SubmitResult.ACCEPTED, loop.submit(new GenerationRequest(new RequestId(1),
                    prompt(150), p), big)); // the queue was empty: taken though over the bound
            assertEquals(EngineLoop.SubmitResult.QUEUE_FULL, loop.submit(new GenerationRequest(new RequestId(2),
                    prompt(10), p), new Collector()));
            assertEquals(150, loop.queuedPromptTokens());
            hold.countDown();
            big.done.get(30, TimeUnit.SECONDS);
            assertEquals(0, loop.queuedPromptTokens());
            assertEquals(EngineLoop.SubmitResult.ACCEPTED, loop.submit(new GenerationRequest(new RequestId(3),
                    prompt(60), p), small));
            small.done.get(30, TimeUnit.SECONDS);
            assertEquals(0, loop.queuedPromptTokens());
        }
    }

    private static int[] prompt(int length) {
        int[] ids = new int[length];
        ids[0] = 508;
        for (int i = 1; i < length; i++) {
            ids[i] = 1 + i % 200;
        }
        return ids;
    }
}
