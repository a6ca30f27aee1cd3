package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvEventListener;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoopTest.Collector;
import dev.baton.engine.testing.Oracle;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Node-local prefix reuse in the {@link EngineLoop} (docs/design.md §6): requests that share a prompt
 * prefix compute its blocks once, a request waits for blocks another is computing, recomputes them
 * when that one is cancelled, and every request still gets the tokens it gets alone.
 */
@Timeout(300)
class PrefixReuseLoopTest {

    static final int BS = EngineSettings.DEFAULT_BLOCK_SIZE;

    static EngineSettings tiny(long kvBytes) {
        return EngineLoopTest.settings(kvBytes);
    }

    /** small-q8_0: context 2048, room for a 1,000-token prefix. */
    static EngineSettings small(long kvBytes) {
        return EngineSettings.defaults(Oracle.model("small-q8_0")).withThreads(1).withKvCacheBytes(kvBytes)
                .withBatch(256, 32);
    }

    /** Prefill chunks of {@code chunk} tokens, so that a long prompt takes many steps. */
    static LoopSettings chunked(int chunk) {
        LoopSettings d = LoopSettings.defaults();
        return new LoopSettings(d.maxRunning(), d.maxWaiting(), chunk, d.idleParkNanos(), d.importTimeoutNanos(),
                d.startTimeoutNanos());
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static Generator.Result[] alone(EngineSettings s, int[][] prompts, SamplingParams[] params) throws Exception {
        Generator.Result[] out = new Generator.Result[prompts.length];
        try (Engine e = Engine.open(s)) {
            for (int i = 0; i < prompts.length; i++) {
                out[i] = new Generator(e).generate(prompts[i], params[i], t -> { });
            }
        }
        return out;
    }

    static Collector submit(EngineLoop loop, int id, int[] prompt, SamplingParams params) {
        Collector c = new Collector();
        assertEquals(EngineLoop.SubmitResult.ACCEPTED, loop.submit(new GenerationRequest(new RequestId(id), prompt, params), c));
        return c;
    }

    static void assertSame(Generator.Result expected, Collector got, String what) throws Exception {
        assertEquals(expected.finishReason(), got.done.get(120, TimeUnit.SECONDS), what);
        assertArrayEquals(expected.tokens(), got.ids(), what);
        assertEquals(expected.text(), got.text.toString(), what);
    }

    static void awaitIdle(EngineLoop loop, KvBlockPool pool) throws InterruptedException {
        DisaggregatedLoopTest.awaitCondition(() -> loop.runningCount() == 0 && pool.usedBlockCount() == 0);
    }

    static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().temperature(0).maxTokens(maxTokens).ignoreEos(true).build();
    }

    // ---- the same tokens with and without reuse ----

    record Run(List<int[]> tokens, List<String> texts, long prefilled, long cached) {}

    /** Submits every request at once, then again once the first round ended (reusing cached blocks). */
    static Run twoRounds(EngineSettings s, int[][] prompts, SamplingParams[] params) throws Exception {
        List<int[]> tokens = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        try (Engine e = Engine.open(s); EngineLoop loop = new EngineLoop(e, chunked(24), "t")) {
            for (int round = 0; round < 2; round++) {
                Collector[] got = new Collector[prompts.length];
                for (int i = 0; i < prompts.length; i++) {
                    got[i] = submit(loop, round * 1000 + i, prompts[i], params[i]);
                }
                for (Collector c : got) {
                    c.done.get(60, TimeUnit.SECONDS);
                    tokens.add(c.ids());
                    texts.add(c.text.toString());
                }
            }
            awaitIdle(loop, e.pool());
            assertEquals(e.pool().blockCount(), e.pool().freeBlockCount(), "every block free or cached");
            return new Run(tokens, texts, loop.prefilledTokens(), loop.cachedTokens());
        }
    }

    @Test
    void shouldGiveBitIdenticalTokensWithAndWithoutPrefixReuse() throws Exception {
        SplittableRandom rnd = new SplittableRandom(11);
        int[][] prefixes = {rnd.ints(3 * BS, 0, 508).toArray(), rnd.ints(7 * BS + 5, 0, 508).toArray(),
            rnd.ints(12 * BS - 1, 0, 508).toArray()};
        int n = 18;
        int[][] prompts = new int[n][];
        SamplingParams[] params = new SamplingParams[n];
        for (int i = 0; i < n; i++) {
            int[] prefix = prefixes[i % prefixes.length];
            // suffixes of 0 (the prefix alone), a block's worth, or a few tokens
            int suffix = i % 4 == 0 ? 0 : i % 4 == 1 ? BS - prefix.length % BS : 1 + rnd.nextInt(40);
            prompts[i] = concat(prefix, rnd.ints(suffix, 0, 508).toArray());
            SamplingParams.Builder b = SamplingParams.builder().maxTokens(1 + rnd.nextInt(30)).ignoreEos(true);
            params[i] = (i % 2 == 0 ? b.temperature(0.9f).topP(0.95f).seed(500 + i) : b.temperature(0)).build();
        }
        Run on = twoRounds(tiny(8L << 20), prompts, params);
        Run off = twoRounds(tiny(8L << 20).withPrefixCache(false), prompts, params);
        for (int i = 0; i < on.tokens.size(); i++) {
            assertArrayEquals(off.tokens.get(i), on.tokens.get(i), "request " + i);
            assertEquals(off.texts.get(i), on.texts.get(i), "request " + i);
        }
        assertEquals(0, off.cached);
        assertTrue(on.cached > 0, "shared prefixes were reused");
        assertEquals(off.prefilled, on.prefilled + on.cached, "every prompt position was computed or reused");
        Generator.Result[] expected = alone(tiny(8L << 20), prompts, params);
        for (int i = 0; i < n; i++) {
            assertArrayEquals(expected[i].tokens(), on.tokens.get(i), "request " + i + " alone");
            assertArrayEquals(expected[i].tokens(), on.tokens.get(n + i), "request " + i + " alone, second round");
        }
    }

    @Test
    void shouldPublishAndCacheNothingWhenPrefixCachingIsOff() throws Exception {
        int[] prompt = new SplittableRandom(12).ints(5 * BS, 0, 508).toArray();
        try (Engine e = Engine.open(tiny(8L << 20).withPrefixCache(false));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            Collector a = submit(loop, 1, prompt, greedy(20));
            a.done.get(30, TimeUnit.SECONDS);
            Collector b = submit(loop, 2, prompt, greedy(20));
            b.done.get(30, TimeUnit.SECONDS);
            assertEquals(0, b.cachedPrompt);
            assertEquals(2L * prompt.length, loop.prefilledTokens());
            assertEquals(0, e.pool().prefixCache().publishes());
            assertEquals(0, e.pool().prefixCache().lookups());
            assertEquals(e.pool().blockCount(), e.pool().emptyBlockCount());
        }
    }

    @Test
    void shouldReuseBlocksOnlyUnderTheSameCacheSalt() throws Exception {
        int[] prompt = new SplittableRandom(14).ints(5 * BS + 3, 0, 508).toArray();
        try (Engine e = Engine.open(tiny(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            Collector[] got = new Collector[4];
            String[] salts = {"tenant-a", "tenant-b", "tenant-a", ""};
            for (int i = 0; i < got.length; i++) {
                got[i] = new Collector();
                assertEquals(EngineLoop.SubmitResult.ACCEPTED,
                        loop.submit(new GenerationRequest(new RequestId(i), prompt, greedy(8), salts[i]), got[i]));
                got[i].done.get(30, TimeUnit.SECONDS);
            }
            assertEquals(0, got[0].cachedPrompt, "first under tenant-a");
            assertEquals(0, got[1].cachedPrompt, "tenant-b sees nothing of tenant-a's blocks");
            assertEquals(5 * BS, got[2].cachedPrompt, "tenant-a again: every full prompt block");
            assertEquals(0, got[3].cachedPrompt, "the shared cache (no salt) sees neither tenant's blocks");
            for (int i = 1; i < got.length; i++) {
                assertArrayEquals(got[0].ids(), got[i].ids(), "the same tokens whatever the salt");
            }
        }
    }

    // ---- a shared prefix computed once ----

    @Test
    void shouldComputeA1000TokenPrefixSharedBy20ConcurrentRequestsOnce() throws Exception {
        SplittableRandom rnd = new SplittableRandom(13);
        int[] prefix = rnd.ints(1000, 3, 32000).toArray();
        int n = 20;
        int[][] prompts = new int[n][];
        SamplingParams[] params = new SamplingParams[n];
        for (int i = 0; i < n; i++) {
            int[] suffix = rnd.ints(9 + rnd.nextInt(30), 3, 32000).toArray();
            suffix[0] = 100 + i; // every suffix differs from the first token on
            prompts[i] = concat(prefix, suffix);
            params[i] = i % 2 == 0 ? greedy(3)
                    : SamplingParams.builder().temperature(0.8f).topK(40).seed(i).maxTokens(3).ignoreEos(true).build();
        }
        Generator.Result[] expected = alone(small(32L << 20), prompts, params);
        int shared = prefix.length / BS * BS; // 992: the prefix's full blocks; the rest shares a block with a suffix
        long expectedPrefill = shared;
        for (int[] p : prompts) {
            expectedPrefill += p.length - shared;
        }
        try (Engine e = Engine.open(small(64L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            Collector[] got = new Collector[n];
            for (int i = 0; i < n; i++) {
                got[i] = submit(loop, i, prompts[i], params[i]);
            }
            int reusedBy = 0;
            for (int i = 0; i < n; i++) {
                assertSame(expected[i], got[i], "request " + i);
                assertTrue(got[i].cachedPrompt == 0 || got[i].cachedPrompt == shared, "request " + i + ": " + got[i].cachedPrompt);
                reusedBy += got[i].cachedPrompt == shared ? 1 : 0;
            }
            assertEquals(n - 1, reusedBy, "every request but the first reuses the whole shared prefix");
            assertEquals(expectedPrefill, loop.prefilledTokens(), "the shared prefix is computed once");
            assertEquals((n - 1L) * shared, loop.cachedTokens());
            assertEquals(shared / BS, e.pool().prefixCache().claims() - countClaimsOfSuffixes(prompts, shared),
                    "each shared block claimed once");
            awaitIdle(loop, e.pool());
        }
    }

    /** Claims made for prompt blocks past the shared prefix (each request's own full blocks). */
    static long countClaimsOfSuffixes(int[][] prompts, int shared) {
        long n = 0;
        for (int[] p : prompts) {
            n += p.length / BS - shared / BS;
        }
        return n;
    }

    // ---- early reuse: waiting for blocks being computed ----

    /**
     * Runs on the loop thread between admission and the step: submits the followers once the first
     * request has written {@code afterTokens} prompt positions, then, if {@code cancelAfterTokens > 0},
     * cancels the first request once that many are written and the followers are admitted.
     */
    static final class Choreography implements LoopAgent {
        final EngineLoop loop;
        final int afterTokens;
        final int cancelAfterTokens;
        final Runnable submitFollowers;
        final int running;
        final int cancelId;
        final AtomicInteger stage = new AtomicInteger();
        volatile long prefilledAtSubmit = -1;
        volatile long prefilledAtCancel = -1;

        Choreography(EngineLoop loop, int afterTokens, int cancelAfterTokens, Runnable submitFollowers) {
            this(loop, afterTokens, cancelAfterTokens, submitFollowers, 3, 0);
        }

        /** Cancels request {@code cancelId} once {@code running} requests are admitted. */
        Choreography(EngineLoop loop, int afterTokens, int cancelAfterTokens, Runnable submitFollowers, int running,
                int cancelId) {
            this.loop = loop;
            this.afterTokens = afterTokens;
            this.cancelAfterTokens = cancelAfterTokens;
            this.submitFollowers = submitFollowers;
            this.running = running;
            this.cancelId = cancelId;
        }

        @Override
        public int doWork() {
            long prefilled = loop.prefilledTokens();
            if (stage.get() == 0 && prefilled >= afterTokens) {
                prefilledAtSubmit = prefilled;
                submitFollowers.run();
                stage.set(1);
            } else if (stage.get() == 1 && cancelAfterTokens > 0 && prefilled >= cancelAfterTokens
                    && loop.runningCount() == running) { // the first request and the followers are admitted
                prefilledAtCancel = prefilled;
                loop.cancel(new RequestId(cancelId), "client disconnected");
                stage.set(2);
            }
            return 0;
        }
    }

    @Test
    void shouldWaitForAPrefixAnotherRequestIsComputingAndReuseIt() throws Exception {
        SplittableRandom rnd = new SplittableRandom(14);
        int[] prefix = rnd.ints(1000, 3, 32000).toArray();
        int[] first = concat(prefix, rnd.ints(20, 3, 32000).toArray());
        int[] second = concat(prefix, rnd.ints(13, 3, 32000).toArray());
        Generator.Result[] expected = alone(small(32L << 20), new int[][] {first, second},
                new SamplingParams[] {greedy(4), greedy(4)});
        int shared = 62 * BS;
        try (Engine e = Engine.open(small(64L << 20)); EngineLoop loop = new EngineLoop(e, chunked(32), "t")) {
            Collector[] got = new Collector[2];
            Choreography c = new Choreography(loop, 4 * BS, 0, () -> got[1] = submit(loop, 1, second, greedy(4)));
            loop.attach(c);
            got[0] = submit(loop, 0, first, greedy(4));
            assertSame(expected[0], got[0], "first");
            assertSame(expected[1], got[1], "second");
            assertTrue(c.prefilledAtSubmit < shared - 2 * 32, "the second came while the prefix was being computed");
            assertTrue(e.pool().prefixCache().pendingHitBlocks() > 0, "it matched blocks still being computed");
            assertEquals(0, got[0].cachedPrompt);
            assertEquals(shared, got[1].cachedPrompt, "it waited for the whole prefix instead of computing it");
            assertEquals(first.length + second.length - shared, loop.prefilledTokens());
            assertEquals(shared, loop.cachedTokens());
            awaitIdle(loop, e.pool());
        }
    }

    @Test
    void shouldRecomputeTheRestOfAPrefixOnceWhenItsWriterIsCancelled() throws Exception {
        recomputeAfterCancel(64L << 20);
    }

    /**
     * The same with a pool of exactly the blocks the three requests need together when they share the
     * prefix (64 + 2 + 3): the followers are admitted next to the first request only because adopted
     * blocks need no allocation, and the blocks the cancel frees are what the recomputation takes.
     */
    @Test
    void shouldRecomputeAfterACancelInAPoolWithNoBlockToSpare() throws Exception {
        long blockBytes = new dev.baton.engine.kv.KvCacheSpec(6, 6, 48, BS, dev.baton.engine.gguf.GgmlType.F32).blockBytes();
        recomputeAfterCancel(69 * blockBytes);
    }

    private void recomputeAfterCancel(long kvBytes) throws Exception {
        SplittableRandom rnd = new SplittableRandom(15);
        int[] prefix = rnd.ints(1000, 3, 32000).toArray();
        int[] first = concat(prefix, rnd.ints(20, 3, 32000).toArray());
        int[] second = concat(prefix, rnd.ints(13, 3, 32000).toArray());
        int[] third = concat(prefix, rnd.ints(27, 3, 32000).toArray());
        SamplingParams sampled = SamplingParams.builder().temperature(0.7f).seed(3).maxTokens(4).ignoreEos(true).build();
        Generator.Result[] expected = alone(small(32L << 20), new int[][] {second, third},
                new SamplingParams[] {greedy(4), sampled});
        int shared = 62 * BS;
        try (Engine e = Engine.open(small(kvBytes)); EngineLoop loop = new EngineLoop(e, chunked(32), "t")) {
            Collector[] got = new Collector[3];
            Choreography c = new Choreography(loop, 4 * BS, 20 * BS, () -> {
                got[1] = submit(loop, 1, second, greedy(4));
                got[2] = submit(loop, 2, third, sampled);
            });
            loop.attach(c);
            got[0] = submit(loop, 0, first, greedy(4));
            ExecutionException cancelled = assertThrows(ExecutionException.class, () -> got[0].done.get(60, TimeUnit.SECONDS));
            assertTrue(cancelled.getCause().getMessage().contains("client disconnected"));
            assertSame(expected[0], got[1], "second");
            assertSame(expected[1], got[2], "third");

            // the first request wrote part of the prefix; what it had written is reused, the rest is
            // computed again by one of the waiters while the other waits for that one
            long writtenByFirst = loop.prefilledTokens() - (second.length - got[1].cachedPrompt)
                    - (third.length - got[2].cachedPrompt);
            assertTrue(writtenByFirst >= 20 * BS && writtenByFirst < shared, "first wrote " + writtenByFirst);
            int reusedFromFirst = (int) (writtenByFirst / BS * BS);
            assertEquals(reusedFromFirst, Math.min(got[1].cachedPrompt, got[2].cachedPrompt));
            assertEquals(shared, Math.max(got[1].cachedPrompt, got[2].cachedPrompt),
                    "the abandoned blocks are computed once, by one waiter");
            assertTrue(e.pool().prefixCache().abandons() > 0);
            awaitIdle(loop, e.pool());
        }
    }

    @Test
    void shouldLetTheWriterFinishWhenAWaiterIsCancelled() throws Exception {
        SplittableRandom rnd = new SplittableRandom(21);
        int[] prefix = rnd.ints(600, 3, 32000).toArray();
        int[] first = concat(prefix, rnd.ints(5, 3, 32000).toArray());
        int[] second = concat(prefix, rnd.ints(9, 3, 32000).toArray());
        Generator.Result expected = alone(small(32L << 20), new int[][] {first}, new SamplingParams[] {greedy(4)})[0];
        try (Engine e = Engine.open(small(64L << 20)); EngineLoop loop = new EngineLoop(e, chunked(32), "t")) {
            Collector[] got = new Collector[2];
            Choreography c = new Choreography(loop, 2 * BS, 8 * BS, () -> got[1] = submit(loop, 1, second, greedy(4)),
                    2, 1);
            loop.attach(c);
            got[0] = submit(loop, 0, first, greedy(4));
            assertSame(expected, got[0], "the writer");
            ExecutionException cancelled = assertThrows(ExecutionException.class, () -> got[1].done.get(60, TimeUnit.SECONDS));
            assertTrue(cancelled.getCause().getMessage().contains("client disconnected"));
            assertTrue(c.prefilledAtCancel < prefix.length - 64, "cancelled while waiting: " + c.prefilledAtCancel);
            assertEquals(first.length, loop.prefilledTokens(), "the waiter computed nothing");
            assertEquals(1, e.pool().prefixCache().abandons(), "only the waiter's claim on its own first block");
            awaitIdle(loop, e.pool());
            assertEquals((first.length + 3) / BS, e.pool().evictableBlockCount(),
                    "the writer's blocks, prompt and generated, stay cached");
        }
    }

    // ---- prefill-only requests ----

    @Test
    void shouldHandOverAPrefillThatReusedCachedBlocks() throws Exception {
        int[] prompt = new SplittableRandom(22).ints(4 * BS + 9, 0, 508).toArray();
        SamplingParams params = greedy(5);
        try (Engine e = Engine.open(tiny(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "p")) {
            DisaggregatedLoopTest.PrefillCollector[] p = new DisaggregatedLoopTest.PrefillCollector[2];
            @SuppressWarnings("unchecked")
            java.util.concurrent.CompletableFuture<byte[]>[] kv = new java.util.concurrent.CompletableFuture[] {
                new java.util.concurrent.CompletableFuture<byte[]>(), new java.util.concurrent.CompletableFuture<byte[]>()};
            for (int i = 0; i < 2; i++) {
                p[i] = new DisaggregatedLoopTest.PrefillCollector();
                DisaggregatedLoopTest.PrefillCollector pc = p[i];
                int k = i;
                pc.onDone = () -> { // on the loop thread, which owns the pool
                    PrefilledSequence s = pc.prefilled.join();
                    byte[] bytes = dev.baton.engine.testing.Kv.bytes(s.kv());
                    s.kv().free();
                    kv[k].complete(bytes);
                };
                loop.submitPrefill(new GenerationRequest(new RequestId(i), prompt, params), pc);
                kv[i].get(30, TimeUnit.SECONDS);
            }
            assertEquals(0, p[0].cachedPrompt);
            assertEquals(4 * BS, p[1].cachedPrompt);
            assertEquals(p[0].prefilled.get().firstToken(), p[1].prefilled.get().firstToken());
            assertArrayEquals(kv[0].get(), kv[1].get(), "the handed-over KV is the same, cached blocks or not");
            assertEquals(prompt.length + 9, loop.prefilledTokens());
            awaitIdle(loop, e.pool());
        }
    }

    // ---- counters, leaks, eviction ----

    @Test
    void shouldReportCachedTokensAndReturnEveryBlock() throws Exception {
        int[] prompt = new SplittableRandom(16).ints(6 * BS + 3, 0, 508).toArray();
        try (Engine e = Engine.open(tiny(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            Collector a = submit(loop, 1, prompt, greedy(8));
            a.done.get(30, TimeUnit.SECONDS);
            Collector same = submit(loop, 2, prompt, greedy(8));
            Collector exactBlocks = submit(loop, 3, Arrays.copyOf(prompt, 6 * BS), greedy(8));
            same.done.get(30, TimeUnit.SECONDS);
            exactBlocks.done.get(30, TimeUnit.SECONDS);
            assertEquals(0, a.cachedPrompt);
            assertEquals(6 * BS, same.cachedPrompt);
            assertEquals(5 * BS, exactBlocks.cachedPrompt, "the last prompt position is always computed");
            assertArrayEquals(a.ids(), same.ids());
            awaitIdle(loop, e.pool());
            KvBlockPool pool = e.pool();
            assertEquals(0, pool.usedBlockCount(), "nothing leaked");
            assertTrue(pool.evictableBlockCount() > 0, "published blocks stay cached");
            assertEquals(pool.blockCount(), pool.emptyBlockCount() + pool.evictableBlockCount());
        }
    }

    @Test
    void shouldEvictCachedBlocksToAdmitNewRequestsUnderPressure() throws Exception {
        // 12 blocks: two requests of 80 positions (5 blocks) at a time; each leaves 4 full blocks cached
        try (Engine e = Engine.open(tiny(12 * 8192L)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            List<Collector> all = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                all.add(submit(loop, i, new SplittableRandom(100 + i).ints(40, 0, 508).toArray(), greedy(40)));
            }
            for (Collector c : all) {
                assertEquals(FinishReason.LENGTH, c.done.get(60, TimeUnit.SECONDS));
                assertEquals(40, c.tokens.size());
            }
            awaitIdle(loop, e.pool());
            assertTrue(e.pool().prefixCache().evictions() > 0, "cached blocks were evicted to make room");
            assertEquals(12, e.pool().freeBlockCount());
        }
    }

    @Test
    void shouldPublishGeneratedBlocksForAFollowUpTurn() throws Exception {
        int[] prompt = new SplittableRandom(17).ints(2 * BS + 5, 0, 508).toArray();
        try (Engine e = Engine.open(tiny(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            Collector turn1 = submit(loop, 1, prompt, greedy(3 * BS));
            turn1.done.get(30, TimeUnit.SECONDS);
            int[] conversation = concat(prompt, turn1.ids()); // 5 full blocks written, the last token's KV never is
            int[] turn2Prompt = concat(conversation, new int[] {7, 8, 9});
            Collector turn2 = submit(loop, 2, turn2Prompt, greedy(4));
            turn2.done.get(30, TimeUnit.SECONDS);
            assertEquals(5 * BS, turn2.cachedPrompt, "the first turn's prompt and answer blocks are reused");
            Generator.Result expected = alone(tiny(8L << 20), new int[][] {turn2Prompt}, new SamplingParams[] {greedy(4)})[0];
            assertArrayEquals(expected.tokens(), turn2.ids());
        }
    }

    @Test
    void shouldTellTheKvEventListenerWhatIsStoredAndRemoved() throws Exception {
        record Stored(BlockHash hash, int depth) {}
        List<Stored> stored = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<BlockHash> removed = new java.util.concurrent.CopyOnWriteArrayList<>();
        KvEventListener listener = new KvEventListener() {
            @Override
            public void onStored(BlockHash hash, int depth) {
                stored.add(new Stored(hash, depth));
            }

            @Override
            public void onRemoved(BlockHash hash) {
                removed.add(hash);
            }

            @Override
            public void onCleared() {}
        };
        try (Engine e = Engine.open(tiny(12 * 8192L)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            loop.execute(() -> e.pool().setEventListener(listener));
            int[] prompt = new SplittableRandom(18).ints(3 * BS + 1, 0, 508).toArray();
            submit(loop, 1, prompt, greedy(BS)).done.get(30, TimeUnit.SECONDS);
            BlockHash[] hashes = new dev.baton.common.BlockHasher(e.fingerprint(), "", BS).hashFullBlocks(prompt, prompt.length);
            assertEquals(4, stored.size(), "3 prompt blocks and 1 block of prompt and generated tokens");
            for (int i = 0; i < hashes.length; i++) {
                assertEquals(new Stored(hashes[i], i), stored.get(i));
            }
            assertEquals(3, stored.get(3).depth());
            assertTrue(removed.isEmpty());
            // fill the pool with other requests: the cached blocks are evicted and reported
            for (int i = 0; i < 3; i++) {
                submit(loop, 10 + i, new SplittableRandom(200 + i).ints(60, 0, 508).toArray(), greedy(20))
                        .done.get(30, TimeUnit.SECONDS);
            }
            awaitIdle(loop, e.pool());
            assertEquals(e.pool().prefixCache().evictions(), removed.size());
            assertTrue(removed.contains(hashes[2]), "the first request's deepest prompt block was evicted");
            assertEquals(e.pool().prefixCache().publishes(), stored.size());
        }
    }

    @Test
    void shouldMeterBlocksByStateAndPrefixCacheHits() throws Exception {
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        int[] prompt = new SplittableRandom(19).ints(4 * BS + 2, 0, 508).toArray();
        try (Engine e = Engine.open(tiny(8L << 20)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t",
                registry, io.micrometer.core.instrument.Tags.of("role", "worker"))) {
            submit(loop, 1, prompt, greedy(2)).done.get(30, TimeUnit.SECONDS);
            submit(loop, 2, prompt, greedy(2)).done.get(30, TimeUnit.SECONDS);
            awaitIdle(loop, e.pool());
            KvBlockPool pool = e.pool();
            assertEquals(0.0, registry.get("baton.kv.blocks").tag("state", "used").gauge().value());
            assertEquals(4.0, registry.get("baton.kv.blocks").tag("state", "cached").gauge().value());
            assertEquals(pool.blockCount() - 4.0, registry.get("baton.kv.blocks").tag("state", "free").gauge().value());
            assertEquals(4.0, registry.get("baton.prefix.cache.hit.blocks").functionCounter().count());
            assertEquals(4.0, registry.get("baton.prefix.cache.miss.blocks").functionCounter().count(),
                    "the first request found none of its 4 blocks");
            assertEquals(4.0 * BS, registry.get("baton.prefix.cache.hit.tokens").functionCounter().count());
            assertEquals(0.0, registry.get("baton.prefix.cache.evictions").functionCounter().count());
            assertEquals(prompt.length * 2.0 - 4 * BS,
                    registry.get("baton.tokens").tag("phase", "prefill").functionCounter().count());
        }
    }

    // ---- imported prompts ----

    @Test
    void shouldPublishAnImportedPromptForLaterRequestsOnTheDecodeNode() throws Exception {
        int[] prompt = new SplittableRandom(20).ints(5 * BS + 7, 0, 508).toArray();
        int[] later = concat(Arrays.copyOf(prompt, 5 * BS + 2), new int[] {40, 41, 42});
        SamplingParams params = greedy(6);
        Generator.Result expected = alone(tiny(8L << 20), new int[][] {later}, new SamplingParams[] {params})[0];
        try (Engine pe = Engine.open(tiny(8L << 20)); Engine de = Engine.open(tiny(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p");
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d")) {
            RequestId id = new RequestId(1);
            DisaggregatedLoopTest.ImportCollector d = new DisaggregatedLoopTest.ImportCollector();
            decode.submitImport(new GenerationRequest(id, prompt, params), d);
            KvImport ticket = d.reserved.get(10, TimeUnit.SECONDS);
            assertEquals(0, ticket.firstBlock(), "nothing cached yet");
            prefillInto(prefill, pe, decode, id, prompt, params, ticket);
            assertEquals(FinishReason.LENGTH, d.done.get(30, TimeUnit.SECONDS));
            assertEquals(5, de.pool().prefixCache().publishes(), "the imported prompt's 5 full blocks");

            Collector c = submit(decode, 2, later, params);
            assertSame(expected, c, "later request");
            assertEquals(5 * BS, c.cachedPrompt, "it reuses the imported blocks");
            assertEquals(later.length - 5 * BS, decode.prefilledTokens());
            awaitIdle(decode, de.pool());
        }
    }

    @Test
    void shouldImportOnlyTheBlocksTheDecodeNodeDoesNotHold() throws Exception {
        int[] first = new SplittableRandom(21).ints(5 * BS + 7, 0, 508).toArray();
        int[] second = concat(Arrays.copyOf(first, 5 * BS), new SplittableRandom(22).ints(2 * BS + 3, 0, 508).toArray());
        SamplingParams params = SamplingParams.builder().temperature(0.7f).topK(20).seed(5).maxTokens(6).ignoreEos(true)
                .build();
        Generator.Result[] expected = alone(tiny(8L << 20), new int[][] {first, second},
                new SamplingParams[] {params, params});
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (Engine pe = Engine.open(tiny(8L << 20)); Engine de = Engine.open(tiny(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p");
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d", registry,
                        io.micrometer.core.instrument.Tags.of("role", "decode"))) {
            int[][] prompts = {first, second};
            int[] firstBlocks = {0, 5};
            for (int i = 0; i < 2; i++) {
                RequestId id = new RequestId(10 + i);
                DisaggregatedLoopTest.ImportCollector d = new DisaggregatedLoopTest.ImportCollector();
                decode.submitImport(new GenerationRequest(id, prompts[i], params), d);
                KvImport ticket = d.reserved.get(10, TimeUnit.SECONDS);
                assertEquals(firstBlocks[i], ticket.firstBlock(), "request " + i + ": blocks held by the decode loop");
                assertEquals((prompts[i].length + BS - 1) / BS - firstBlocks[i], ticket.blockCount(),
                        "request " + i + ": blocks to import");
                DisaggregatedLoopTest.PrefillCollector p = prefillInto(prefill, pe, decode, id, prompts[i], params, ticket);
                assertEquals(FinishReason.LENGTH, d.done.get(30, TimeUnit.SECONDS));
                assertImported(expected[i], p, d, "request " + i);
            }
            assertEquals(5 * BS, decode.cachedTokens(), "the second request's held blocks count as cached tokens");
            assertEquals(6.0 + 3, registry.get("baton.kv.imported.blocks").tag("source", "transfer").functionCounter()
                    .count());
            assertEquals(5.0, registry.get("baton.kv.imported.blocks").tag("source", "held").functionCounter().count());
            awaitIdle(decode, de.pool());
            awaitIdle(prefill, pe.pool());
        }
    }

    /** The first token from the prefill half and the rest from the decode half are {@code expected}'s tokens. */
    static void assertImported(Generator.Result expected, DisaggregatedLoopTest.PrefillCollector p,
            DisaggregatedLoopTest.ImportCollector d, String what) throws Exception {
        int[] got = new int[1 + d.tokens.size()];
        got[0] = p.prefilled.get().firstToken();
        for (int k = 1; k < got.length; k++) {
            got[k] = d.tokens.get(k - 1);
        }
        assertArrayEquals(expected.tokens(), got, what);
    }

    /**
     * Prefills {@code prompt} on {@code prefill} and, once done, copies its KV into {@code ticket}'s
     * segments (from the ticket's first block on), gives the ticket back and hands the first token over.
     */
    static DisaggregatedLoopTest.PrefillCollector prefillInto(EngineLoop prefill, Engine pe, EngineLoop decode,
            RequestId id, int[] prompt, SamplingParams params, KvImport ticket) {
        DisaggregatedLoopTest.PrefillCollector p = new DisaggregatedLoopTest.PrefillCollector();
        p.onDone = () -> {
            PrefilledSequence s = p.prefilled.join();
            DisaggregatedLoopTest.copy(pe.pool(), s, ticket);
            s.kv().free(); // on the prefill loop's thread, which owns its pool
            ticket.giveBack(true, null);
            decode.handoff(id, s.firstToken());
        };
        prefill.submitPrefill(new GenerationRequest(id, prompt, params), p);
        return p;
    }
}
