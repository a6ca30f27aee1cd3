package dev.baton.engine.sched;

import static dev.baton.engine.sched.PrefixReuseLoopTest.BS;
import static dev.baton.engine.sched.PrefixReuseLoopTest.alone;
import static dev.baton.engine.sched.PrefixReuseLoopTest.awaitIdle;
import static dev.baton.engine.sched.PrefixReuseLoopTest.concat;
import static dev.baton.engine.sched.PrefixReuseLoopTest.greedy;
import static dev.baton.engine.sched.PrefixReuseLoopTest.submit;
import static dev.baton.engine.sched.PrefixReuseLoopTest.tiny;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvEventListener;
import dev.baton.engine.kv.KvTier;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoopTest.Collector;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine loop with a second KV tier ({@link EngineLoop#useTier}), here an in-memory map: blocks the
 * pool evicts are stored in it, a later request reads its prompt blocks back instead of computing them
 * (and counts them as cached), the read-back stops cleanly at a missing or damaged block, a failing tier
 * is dropped, and every request gets the tokens it gets alone.
 */
@Timeout(120)
class TierReuseLoopTest {

    /** 12 blocks of the tiny model: a few requests are enough to evict a prompt's blocks. */
    static final long SMALL_POOL = 12 * 8192L;

    /** A tier in a map. Loads of {@code damaged} hashes fill the destination with garbage and fail. */
    static final class MapTier implements KvTier {
        final Map<BlockHash, byte[]> blocks = new ConcurrentHashMap<>();
        final Set<BlockHash> damaged = ConcurrentHashMap.newKeySet();
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean broken;

        @Override
        public boolean load(BlockHash hash, MemorySegment dst) {
            calls.incrementAndGet();
            if (broken) {
                throw new IllegalStateException("tier files gone");
            }
            byte[] b = blocks.get(hash);
            if (b == null) {
                return false;
            }
            if (damaged.contains(hash)) {
                dst.fill((byte) 0x5A);
                return false;
            }
            MemorySegment.copy(MemorySegment.ofArray(b), 0, dst, 0, b.length);
            return true;
        }

        @Override
        public boolean store(BlockHash hash, MemorySegment src) {
            calls.incrementAndGet();
            if (broken) {
                throw new IllegalStateException("tier files gone");
            }
            blocks.put(hash, src.toArray(ValueLayout.JAVA_BYTE));
            return true;
        }
    }

    static final SamplingParams PARAMS = greedy(5);

    /** 4 full blocks and 3 tokens: 4 blocks may come from a cache ((67 - 1) / 16). */
    static int[] prompt() {
        return new SplittableRandom(31).ints(4 * BS + 3, 0, 508).toArray();
    }

    static BlockHash[] hashes(Engine e, int[] prompt) {
        return new BlockHasher(e.fingerprint(), "", BS).hashFullBlocks(prompt, prompt.length);
    }

    /** Runs four other requests of 5 blocks each, one after the other: enough to evict every earlier block. */
    static void evictEverything(EngineLoop loop, Engine e) throws Exception {
        for (int i = 0; i < 4; i++) {
            submit(loop, 100 + i, new SplittableRandom(300 + i).ints(40, 0, 508).toArray(), greedy(40))
                    .done.get(30, TimeUnit.SECONDS);
        }
        awaitIdle(loop, e.pool());
    }

    static double count(SimpleMeterRegistry registry, String name) {
        return registry.get(name).functionCounter().count();
    }

    static boolean inPool(Engine e, BlockHash h) {
        return e.pool().prefixCache().find(h) != KvBlockPool.NO_BLOCK;
    }

    @Test
    void shouldReadAnImportedPromptsPrefixBackFromTheTierInsteadOfReceivingIt() throws Exception {
        MapTier tier = new MapTier();
        int[] prompt = prompt();
        Generator.Result expected = alone(tiny(8L << 20), new int[][] {prompt}, new SamplingParams[] {PARAMS})[0];
        try (Engine w = Engine.open(tiny(SMALL_POOL)); EngineLoop worker = new EngineLoop(w, LoopSettings.defaults(), "w")) {
            assertTrue(worker.useTier(tier));
            submit(worker, 1, prompt, PARAMS).done.get(30, TimeUnit.SECONDS);
            evictEverything(worker, w);
            for (BlockHash h : hashes(w, prompt)) {
                assertTrue(tier.blocks.containsKey(h), "spilled to the tier");
            }
        }
        try (Engine pe = Engine.open(tiny(8L << 20)); Engine de = Engine.open(tiny(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p");
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d")) {
            assertTrue(decode.useTier(tier));
            dev.baton.common.RequestId id = new dev.baton.common.RequestId(2);
            DisaggregatedLoopTest.ImportCollector d = new DisaggregatedLoopTest.ImportCollector();
            decode.submitImport(new GenerationRequest(id, prompt, PARAMS), d);
            KvImport ticket = d.reserved.get(10, TimeUnit.SECONDS);
            assertEquals(4, ticket.firstBlock(), "the 4 blocks a cache may give come from the tier");
            assertEquals(1, ticket.blockCount(), "only the block of the last prompt positions is imported");
            DisaggregatedLoopTest.PrefillCollector p = PrefixReuseLoopTest.prefillInto(prefill, pe, decode, id, prompt,
                    PARAMS, ticket);
            d.done.get(30, TimeUnit.SECONDS);
            PrefixReuseLoopTest.assertImported(expected, p, d, "imported over blocks read back");
            assertEquals(4 * BS, decode.cachedTokens());
            assertEquals(4, de.pool().prefixCache().publishes(), "the read-back blocks are published on the decode loop");
            awaitIdle(decode, de.pool());
        }
    }

    @Test
    void shouldSpillEvictedBlocksAndReadThemBackInsteadOfComputingThem() throws Exception {
        MapTier tier = new MapTier();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        int[] prompt = prompt();
        try (Engine e = Engine.open(tiny(SMALL_POOL));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t", registry, Tags.empty())) {
            assertEquals(12, e.pool().blockCount());
            assertTrue(loop.useTier(tier));
            Collector first = submit(loop, 1, prompt, PARAMS);
            first.done.get(30, TimeUnit.SECONDS);
            evictEverything(loop, e);
            BlockHash[] hashes = hashes(e, prompt);
            for (BlockHash h : hashes) {
                assertFalse(inPool(e, h), "evicted from the pool");
                assertTrue(tier.blocks.containsKey(h), "spilled to the tier");
            }
            long evictions = e.pool().prefixCache().evictions();
            assertEquals(evictions, count(registry, "baton.host.tier.spilled.blocks"), "every eviction spilled");
            assertEquals(0.0, count(registry, "baton.host.tier.hit.blocks"));

            List<BlockHash> stored = new CopyOnWriteArrayList<>();
            loop.execute(() -> e.pool().setEventListener(new KvEventListener() {
                @Override
                public void onStored(BlockHash hash, int depth) {
                    stored.add(hash);
                }

                @Override
                public void onRemoved(BlockHash hash) {}

                @Override
                public void onCleared() {}
            }));
            long prefilledBefore = loop.prefilledTokens();
            Collector again = submit(loop, 2, prompt, PARAMS);
            again.done.get(30, TimeUnit.SECONDS);
            assertEquals(4 * BS, again.cachedPrompt, "the 4 blocks came back from the tier");
            assertEquals(prompt.length - 4 * BS, loop.prefilledTokens() - prefilledBefore, "only the rest was computed");
            assertArrayEquals(first.ids(), again.ids(), "the same tokens as computing the prompt");
            assertEquals(first.text.toString(), again.text.toString());
            assertTrue(stored.containsAll(List.of(hashes)), "blocks read back are published (KV events)");
            awaitIdle(loop, e.pool());
            for (BlockHash h : hashes) {
                assertTrue(inPool(e, h), "cached in the pool again");
            }
            assertEquals(4.0, count(registry, "baton.host.tier.hit.blocks"));
            assertEquals(4.0 * BS, count(registry, "baton.host.tier.hit.tokens"));
            assertEquals(4.0 * BS, count(registry, "baton.prefix.cache.hit.tokens"), "the loop's cached tokens include them");
            assertEquals(5.0, count(registry, "baton.host.tier.miss.blocks"),
                    "the first request and the four others each stopped at their first block");
            assertEquals(0.0, count(registry, "baton.host.tier.spill.failures"));
        }
    }

    @Test
    void shouldGiveEveryRequestItsTokensAloneWhilePrefixesMoveBetweenTiers() throws Exception {
        SplittableRandom rnd = new SplittableRandom(32);
        int[][] prefixes = {rnd.ints(3 * BS, 0, 508).toArray(), rnd.ints(7 * BS + 5, 0, 508).toArray(),
            rnd.ints(10 * BS - 1, 0, 508).toArray()};
        int n = 15;
        int[][] prompts = new int[n][];
        SamplingParams[] params = new SamplingParams[n];
        for (int i = 0; i < n; i++) {
            int[] prefix = prefixes[i % prefixes.length];
            int suffix = i % 3 == 0 ? 0 : 1 + rnd.nextInt(20);
            prompts[i] = concat(prefix, rnd.ints(suffix, 0, 508).toArray());
            SamplingParams.Builder b = SamplingParams.builder().maxTokens(1 + rnd.nextInt(20)).ignoreEos(true);
            params[i] = (i % 2 == 0 ? b.temperature(0.9f).topP(0.95f).seed(700 + i) : b.temperature(0)).build();
        }
        Generator.Result[] expected = alone(tiny(8L << 20), prompts, params);
        MapTier tier = new MapTier();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine e = Engine.open(tiny(16 * 8192L));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t", registry, Tags.empty())) {
            loop.useTier(tier);
            long cached = 0;
            for (int i = 0; i < n; i++) {
                Collector c = submit(loop, i, prompts[i], params[i]); // one at a time: the 16 blocks hold one prefix
                c.done.get(30, TimeUnit.SECONDS);
                assertArrayEquals(expected[i].tokens(), c.ids(), "request " + i);
                assertEquals(expected[i].text(), c.text.toString(), "request " + i);
                cached += c.cachedPrompt;
            }
            long all = 0;
            for (int[] p : prompts) {
                all += p.length;
            }
            assertEquals(all, loop.prefilledTokens() + cached, "every prompt position computed or reused");
            assertTrue(e.pool().prefixCache().evictions() > 0, "prefixes were evicted");
            assertTrue(count(registry, "baton.host.tier.hit.blocks") > 0, "and read back from the tier");
        }
    }

    @Test
    void shouldStopTheReadBackAtABlockThatFailsItsCheck() throws Exception {
        MapTier tier = new MapTier();
        int[] prompt = prompt();
        try (Engine e = Engine.open(tiny(SMALL_POOL)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            loop.useTier(tier);
            Collector first = submit(loop, 1, prompt, PARAMS);
            first.done.get(30, TimeUnit.SECONDS);
            evictEverything(loop, e);
            BlockHash[] hashes = hashes(e, prompt);
            tier.damaged.add(hashes[2]);
            Collector again = submit(loop, 2, prompt, PARAMS);
            again.done.get(30, TimeUnit.SECONDS);
            assertEquals(2 * BS, again.cachedPrompt, "blocks 0 and 1 read back, block 2 and the rest computed");
            assertArrayEquals(first.ids(), again.ids(), "the damaged bytes were overwritten by computing the block");
            awaitIdle(loop, e.pool());
            assertTrue(inPool(e, hashes[2]) && inPool(e, hashes[3]), "the computed blocks are published as usual");
        }
    }

    @Test
    void shouldStopTheReadBackAtTheFirstBlockTheTierDoesNotHold() throws Exception {
        MapTier tier = new MapTier();
        int[] prompt = prompt();
        try (Engine e = Engine.open(tiny(SMALL_POOL)); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            loop.useTier(tier);
            Collector first = submit(loop, 1, prompt, PARAMS);
            first.done.get(30, TimeUnit.SECONDS);
            evictEverything(loop, e);
            tier.blocks.remove(hashes(e, prompt)[1]);
            Collector again = submit(loop, 2, prompt, PARAMS);
            again.done.get(30, TimeUnit.SECONDS);
            assertEquals(BS, again.cachedPrompt, "only block 0: blocks 2 and 3 come after the hole");
            assertArrayEquals(first.ids(), again.ids());
        }
    }

    @Test
    void shouldNeverReadBackTheBlockHoldingTheLastPromptPosition() throws Exception {
        MapTier tier = new MapTier();
        int[] prompt = new SplittableRandom(33).ints(4 * BS, 0, 508).toArray();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine e = Engine.open(tiny(SMALL_POOL));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t", registry, Tags.empty())) {
            loop.useTier(tier);
            Collector first = submit(loop, 1, prompt, PARAMS);
            first.done.get(30, TimeUnit.SECONDS);
            evictEverything(loop, e);
            assertTrue(tier.blocks.containsKey(hashes(e, prompt)[3]), "the last block was spilled too");
            Collector again = submit(loop, 2, prompt, PARAMS);
            again.done.get(30, TimeUnit.SECONDS);
            assertEquals(3 * BS, again.cachedPrompt, "the block with the last position is computed");
            assertEquals(3.0, count(registry, "baton.host.tier.hit.blocks"));
            assertArrayEquals(first.ids(), again.ids());
        }
    }

    @Test
    void shouldDropATierThatFailsAndServeWithoutIt() throws Exception {
        MapTier tier = new MapTier();
        tier.broken = true;
        int[] prompt = prompt();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine e = Engine.open(tiny(SMALL_POOL));
                EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t", registry, Tags.empty())) {
            loop.useTier(tier);
            Collector first = submit(loop, 1, prompt, PARAMS);
            first.done.get(30, TimeUnit.SECONDS);
            evictEverything(loop, e);
            Collector again = submit(loop, 2, prompt, PARAMS);
            again.done.get(30, TimeUnit.SECONDS);
            assertEquals(0, again.cachedPrompt);
            assertArrayEquals(first.ids(), again.ids());
            assertEquals(1, tier.calls.get(), "the tier is not called again after it failed");
            assertEquals(1.0, count(registry, "baton.host.tier.miss.blocks"));
            assertTrue(e.pool().prefixCache().evictions() > 0, "the pool still evicts, without spilling");
            assertEquals(0.0, count(registry, "baton.host.tier.spilled.blocks"));
        }
    }

    @Test
    void shouldNotTakeATierWithoutThePrefixCache() throws Exception {
        EngineSettings off = tiny(SMALL_POOL).withPrefixCache(false);
        MapTier tier = new MapTier();
        try (Engine e = Engine.open(off); EngineLoop loop = new EngineLoop(e, LoopSettings.defaults(), "t")) {
            assertFalse(loop.useTier(tier));
            submit(loop, 1, prompt(), PARAMS).done.get(30, TimeUnit.SECONDS);
            evictEverything(loop, e);
            assertEquals(0, tier.calls.get());
        }
    }
}
