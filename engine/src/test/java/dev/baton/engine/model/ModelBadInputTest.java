package dev.baton.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.PromptTooLongException;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.gguf.GgufValueType;
import dev.baton.engine.gguf.GgufWriter;
import dev.baton.engine.kv.KvPoolExhaustedException;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.testing.Oracle;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Model files the engine cannot run, and requests it must refuse, each with a message naming the problem. */
@Timeout(60)
class ModelBadInputTest {

    @TempDir
    Path dir;

    /** Copies tiny-f32 with edited metadata, some tensors left out, and one tensor's shape changed. */
    private Path variant(String name, Consumer<GgufWriter> edit, Predicate<String> keep, String reshape) throws Exception {
        Path out = dir.resolve(name + ".gguf");
        try (GgufFile src = GgufFile.open(Oracle.model("tiny-f32"))) {
            GgufWriter w = new GgufWriter();
            for (GgufMetadata.Entry e : src.metadata().entries().values()) {
                w.put(e);
            }
            edit.accept(w);
            for (GgufTensorInfo t : src.tensors().values()) {
                if (!keep.test(t.name())) {
                    continue;
                }
                long[] dims = t.dims().clone();
                if (t.name().equals(reshape)) {
                    long tmp = dims[0];
                    dims[0] = dims[1];
                    dims[1] = tmp;
                }
                w.addRawTensor(t.name(), t.type(), t.data(), dims);
            }
            w.write(out);
        }
        return out;
    }

    private static EngineException openFails(Path model) {
        return assertThrows(EngineException.class,
                () -> Engine.open(EngineSettings.defaults(model).withThreads(1).withKvCacheBytes(8L << 20)).close());
    }

    @Test
    void shouldNameAnUnknownArchitecture() throws Exception {
        Path p = variant("arch", w -> w.putString("general.architecture", "gpt9"), n -> true, null);
        EngineException e = openFails(p);
        assertTrue(e.getMessage().contains("'gpt9'") && e.getMessage().contains("general.architecture"), e.getMessage());
    }

    @Test
    void shouldNameAMissingTensor() throws Exception {
        Path p = variant("missing", w -> { }, n -> !n.equals("blk.1.ffn_up.weight"), null);
        Exception e = assertThrows(RuntimeException.class,
                () -> Engine.open(EngineSettings.defaults(p).withThreads(1).withKvCacheBytes(8L << 20)).close());
        assertTrue(e.getMessage().contains("missing tensor 'blk.1.ffn_up.weight'"), e.getMessage());
    }

    @Test
    void shouldNameAMisShapedTensor() throws Exception {
        Path p = variant("shape", w -> { }, n -> true, "blk.0.ffn_down.weight");
        EngineException e = openFails(p);
        assertTrue(e.getMessage().contains("'blk.0.ffn_down.weight' has shape"), e.getMessage());
    }

    @Test
    void shouldNameAMissingHyperParameter() throws Exception {
        Path p = dir.resolve("nokey.gguf");
        try (GgufFile src = GgufFile.open(Oracle.model("tiny-f32"))) {
            GgufWriter w = new GgufWriter();
            src.metadata().entries().values().stream().filter(e -> !e.key().equals("llama.block_count")).forEach(w::put);
            src.tensors().values().forEach(t -> w.addRawTensor(t.name(), t.type(), t.data(), t.dims()));
            w.write(p);
        }
        Exception e = assertThrows(RuntimeException.class,
                () -> Engine.open(EngineSettings.defaults(p).withThreads(1).withKvCacheBytes(8L << 20)).close());
        assertTrue(e.getMessage().contains("'llama.block_count'"), e.getMessage());
    }

    @Test
    void shouldRefuseAPromptLongerThanTheContext() throws Exception {
        try (Engine e = Engine.open(EngineSettings.defaults(Oracle.model("tiny-f32")).withThreads(1)
                .withKvCacheBytes(16L << 20))) {
            int[] prompt = new int[e.config().contextLength()];
            int free = e.pool().freeBlockCount();
            PromptTooLongException ex = assertThrows(PromptTooLongException.class,
                    () -> new Generator(e).generate(prompt, SamplingParams.greedy(), t -> { }));
            assertTrue(ex.getMessage().contains("512 tokens") && ex.getMessage().contains("context of 512"), ex.getMessage());
            assertEquals(free, e.pool().freeBlockCount(), "no blocks may leak");
        }
    }

    @Test
    void shouldRefuseTokenIdsOutsideTheVocabularyWithoutTakingBlocks() throws Exception {
        try (Engine e = Engine.open(EngineSettings.defaults(Oracle.model("tiny-f32")).withThreads(1)
                .withKvCacheBytes(16L << 20))) {
            KvSequence seq = e.newSequence();
            StepBatch b = e.newBatch();
            EngineException ex = assertThrows(EngineException.class, () -> b.add(seq, new int[] {1, 2, 512}, 0, 3, true));
            assertTrue(ex.getMessage().contains("token id 512 at position 2"), ex.getMessage());
            assertEquals(0, seq.blockCount());
        }
    }

    @Test
    void shouldReportAnExhaustedKvPoolAndKeepServingOthers() throws Exception {
        EngineSettings s = EngineSettings.defaults(Oracle.model("tiny-f32")).withThreads(1).withKvDtype(GgmlType.F32);
        try (Engine e = Engine.open(s.withKvCacheBytes(4 * (2L * 2 * 2 * 16 * 16 * 4)))) { // 4 blocks
            assertEquals(4, e.pool().blockCount());
            int[] big = new int[80];
            KvSequence seq = e.newSequence();
            StepBatch b = e.newBatch();
            KvPoolExhaustedException ex = assertThrows(KvPoolExhaustedException.class, () -> b.add(seq, big, 0, 80, true));
            assertTrue(ex.getMessage().contains("4 of 4 are free"), ex.getMessage());
            assertEquals(4, e.pool().freeBlockCount());
            Generator.Result r = new Generator(e).generate(new int[] {508, 1, 2, 3}, SamplingParams.builder()
                    .temperature(0).maxTokens(8).ignoreEos(true).build(), t -> { });
            assertEquals(8, r.tokens().length);
            assertEquals(4, e.pool().freeBlockCount());
        }
    }
}
