package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.GenerationListener;
import dev.baton.engine.sched.GenerationRequest;
import dev.baton.engine.sched.LoopSettings;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real host tier under two engine loops of this JVM, each with its own pool and its own handle on
 * the same tier files (as two node processes on a host have): what one loop's pool evicts the other reads
 * back instead of computing, with the same tokens. And a tier that cannot be used leaves the node without one.
 */
@Timeout(120)
class HostKvTierTest {

    static final Path MODEL = Path.of(System.getProperty("baton.oracle.dir")).resolve("models/tiny-f32.gguf");
    static final int BS = EngineSettings.DEFAULT_BLOCK_SIZE;
    static final SamplingParams GREEDY = SamplingParams.builder().temperature(0).maxTokens(6).ignoreEos(true).build();

    @TempDir
    Path dir;

    static EngineSettings settings(long kvBytes) {
        return EngineSettings.defaults(MODEL).withThreads(1).withKvCacheBytes(kvBytes).withBatch(64, 16);
    }

    Config config(String overrides) {
        return ConfigFactory.parseString("baton.kv-transfer.host-tier { directory = \"" + dir.resolve("tier")
                + "\", capacity = 4MiB }\n" + overrides).withFallback(ConfigFactory.defaultReference()).resolve();
    }

    static long blockBytes() throws Exception {
        try (Engine e = Engine.open(settings(1L << 20))) {
            return e.pool().spec().blockBytes();
        }
    }

    /** One request's output. */
    static final class Collect implements GenerationListener {
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        volatile int cached = -1;

        @Override
        public void onPrefilled(int promptTokens, int cachedTokens) {
            cached = cachedTokens;
        }

        @Override
        public void onToken(int tokenId, String text) {
            tokens.add(tokenId);
        }

        @Override
        public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
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

    static Collect run(EngineLoop loop, int id, int[] prompt, SamplingParams params) throws Exception {
        Collect c = new Collect();
        assertEquals(EngineLoop.SubmitResult.ACCEPTED, loop.submit(new GenerationRequest(new RequestId(id), prompt, params), c));
        c.done.get(60, TimeUnit.SECONDS);
        return c;
    }

    static double count(SimpleMeterRegistry registry, String name) {
        return registry.get(name).functionCounter().count();
    }

    @Test
    void shouldReadBackInOneLoopTheBlocksAnotherLoopEvicted() throws Exception {
        long blockBytes = blockBytes();
        int[] prompt = new SplittableRandom(41).ints(5 * BS + 7, 0, 508).toArray(); // 5 blocks may come from a cache
        Config config = config("");
        SimpleMeterRegistry registryA = new SimpleMeterRegistry();
        SimpleMeterRegistry registryB = new SimpleMeterRegistry();
        int[] firstTokens;
        try (Engine a = Engine.open(settings(12 * blockBytes)); HostKvTier tierA = HostKvTier.open(config, a, registryA, Tags.empty());
                EngineLoop loopA = new EngineLoop(a, LoopSettings.defaults(), "a", registryA, Tags.empty())) {
            assertNotNull(tierA, "the tier opens in a usable directory");
            assertTrue(loopA.useTier(tierA));
            Collect first = run(loopA, 1, prompt, GREEDY);
            assertEquals(0, first.cached);
            firstTokens = first.ids();
            for (int i = 0; i < 4; i++) { // 5 blocks each, one after the other: the 12-block pool evicts the prompt's
                run(loopA, 10 + i, new SplittableRandom(400 + i).ints(40, 0, 508).toArray(),
                        SamplingParams.builder().temperature(0).maxTokens(40).ignoreEos(true).build());
            }
            assertTrue(count(registryA, "baton.host.tier.spilled.blocks") >= 5, "the prompt's blocks were spilled");
            assertEquals(0.0, count(registryA, "baton.host.tier.spill.failures"));
            assertTrue(registryA.get("baton.kv.host.tier.entries").gauge().value() >= 5, "the tier's own meters");
        }

        // another pool with its own handle on the same files, as another process on the host
        try (Engine b = Engine.open(settings(8L << 20)); HostKvTier tierB = HostKvTier.open(config, b, registryB, Tags.empty());
                EngineLoop loopB = new EngineLoop(b, LoopSettings.defaults(), "b", registryB, Tags.empty())) {
            assertNotNull(tierB);
            loopB.useTier(tierB);
            Collect again = run(loopB, 1, prompt, GREEDY);
            assertEquals(5 * BS, again.cached, "the fresh pool read the prompt's blocks back from the host tier");
            assertEquals(prompt.length - 5 * BS, loopB.prefilledTokens(), "and computed only the rest");
            assertArrayEquals(firstTokens, again.ids(), "bit-identical tokens");
            assertEquals(5.0, count(registryB, "baton.host.tier.hit.blocks"));
            assertEquals(5.0 * BS, count(registryB, "baton.host.tier.hit.tokens"));
            assertEquals(5.0, registryB.get("baton.kv.host.tier.lookups").tag("result", "hit").functionCounter().count());
            assertEquals(0.0, registryB.get("baton.kv.host.tier.lookups").tag("result", "corrupt").functionCounter().count());
        }
        try (Engine e = Engine.open(settings(8L << 20))) {
            assertArrayEquals(new Generator(e).generate(prompt, GREEDY, t -> { }).tokens(), firstTokens,
                    "the tokens of computing the whole prompt");
        }
    }

    @Test
    void shouldRunWithoutTheTierWhenItsDirectoryCannotBeCreated() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        try (Engine e = Engine.open(settings(1L << 20))) {
            Config config = ConfigFactory.parseString("baton.kv-transfer.host-tier.directory = \"" + file.resolve("tier")
                    + "\"").withFallback(ConfigFactory.defaultReference()).resolve();
            assertNull(HostKvTier.open(config, e, new SimpleMeterRegistry(), Tags.empty()));
        }
    }

    @Test
    void shouldRunWithoutTheTierWhenItsFileSystemCannotHoldIt() throws Exception {
        try (Engine e = Engine.open(settings(1L << 20))) {
            assertNull(HostKvTier.open(config("baton.kv-transfer.host-tier.capacity = 8TiB"), e, new SimpleMeterRegistry(),
                    Tags.empty()));
            assertFalse(Files.exists(dir.resolve("tier/default.slab")), "no sparse file bigger than the disk");
        }
    }

    @Test
    void shouldRunWithoutTheTierWhenItsFilesHaveAnotherShape() throws Exception {
        try (Engine e = Engine.open(settings(1L << 20));
                HostKvTier first = HostKvTier.open(config(""), e, new SimpleMeterRegistry(), Tags.empty())) {
            assertNotNull(first);
            assertNull(HostKvTier.open(config("baton.kv-transfer.host-tier.capacity = 8MiB"), e, new SimpleMeterRegistry(),
                    Tags.empty()), "another capacity for the same files");
        }
    }

    @Test
    void shouldNotOpenTheTierWhenItIsOffOrThePrefixCacheIsOff() throws Exception {
        try (Engine e = Engine.open(settings(1L << 20)); Engine noCache = Engine.open(settings(1L << 20).withPrefixCache(false))) {
            assertNull(HostKvTier.open(config("baton.kv-transfer.host-tier.enabled = off"), e, new SimpleMeterRegistry(),
                    Tags.empty()));
            assertNull(HostKvTier.open(config(""), noCache, new SimpleMeterRegistry(), Tags.empty()));
            assertFalse(Files.exists(dir.resolve("tier")), "nothing was created");
        }
    }
}
