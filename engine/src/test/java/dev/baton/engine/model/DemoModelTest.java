package dev.baton.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.baton.common.ModelFingerprint;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.gguf.GgufQuantizer;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.gguf.GgufValueType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class DemoModelTest {

    /**
     * The fingerprint of baton-demo-v1.gguf. If this changes, the model changed: rename the file
     * (DemoModel.FILE_NAME) so caches holding the old one are not mistaken for it.
     */
    private static final String PINNED_FINGERPRINT = "86ec549f8f5088e22ffeb8b81fca5688";

    private static final Path ORACLE = Path.of(System.getProperty("baton.oracle.dir", "../../shared/oracle"), "models");

    @TempDir
    static Path shared;
    static Path model;

    @BeforeAll
    static void writeOnce() throws IOException {
        model = DemoModel.ensure(shared.resolve("cache"));
    }

    @Test
    void shouldWriteTheSameBytesEveryTime(@TempDir Path other) throws IOException {
        Path again = DemoModel.ensure(other);
        assertEquals(-1L, Files.mismatch(model, again));
        assertEquals(PINNED_FINGERPRINT, ModelFingerprint.of(model).toString());
    }

    @Test
    void shouldReturnAnExistingFileWithoutRewritingIt() throws IOException {
        long modified = Files.getLastModifiedTime(model).toMillis();
        assertEquals(model, DemoModel.ensure(shared.resolve("cache")));
        assertEquals(modified, Files.getLastModifiedTime(model).toMillis());
        assertEquals(DemoModel.FILE_NAME, model.getFileName().toString());
        try (var files = Files.list(model.getParent())) {
            assertEquals(List.of(model), files.toList()); // no temporary file left
        }
    }

    @Test
    void shouldDescribeItsGeometryInLlamaMetadata() throws IOException {
        try (GgufFile f = GgufFile.open(model)) {
            GgufMetadata m = f.metadata();
            assertEquals("llama", m.getString("general.architecture"));
            assertTrue(m.getString("general.name").contains("random weights"));
            assertEquals(256, m.getInt("llama.embedding_length"));
            assertEquals(4, m.getInt("llama.block_count"));
            assertEquals(8, m.getInt("llama.attention.head_count"));
            assertEquals(4, m.getInt("llama.attention.head_count_kv"));
            assertEquals(32, m.getInt("llama.rope.dimension_count"));
            assertEquals(768, m.getInt("llama.feed_forward_length"));
            assertEquals(2048, m.getInt("llama.context_length"));
            assertEquals(512, m.getInt("llama.vocab_size"));
            assertEquals(10000f, m.getFloat("llama.rope.freq_base"));
            assertEquals(1e-5f, m.getFloat("llama.attention.layer_norm_rms_epsilon"));
        }
    }

    @Test
    void shouldStoreNormsAsF32AndMatricesAsQ8_0WithTheirShapes() throws IOException {
        try (GgufFile f = GgufFile.open(model)) {
            assertEquals(2 + 9 * DemoModel.LAYERS + 1, f.tensors().size());
            assertArrayEquals(new long[] {256, 512}, f.tensor("token_embd.weight").dims());
            assertArrayEquals(new long[] {256, 128}, f.tensor("blk.3.attn_k.weight").dims());
            assertArrayEquals(new long[] {768, 256}, f.tensor("blk.0.ffn_down.weight").dims());
            assertArrayEquals(new long[] {256, 512}, f.tensor("output.weight").dims());
            for (GgufTensorInfo t : f.tensors().values()) {
                assertEquals(t.dims().length == 1 ? GgmlType.F32 : GgmlType.Q8_0, t.type(), t.name());
            }
        }
    }

    @Test
    void shouldDrawNormsAroundOneAndWeightsAtTheirScales() throws IOException {
        try (GgufFile f = GgufFile.open(model)) {
            assertStats(f, "blk.1.attn_norm.weight", 1, 0.1);
            assertStats(f, "output_norm.weight", 1, 0.1);
            assertStats(f, "token_embd.weight", 0, 1);
            assertStats(f, "blk.2.attn_q.weight", 0, 1 / 16.0);
            assertStats(f, "blk.2.ffn_up.weight", 0, Math.sqrt(3.0 / 256));
            assertStats(f, "blk.2.ffn_down.weight", 0, 1 / Math.sqrt(768));
            assertStats(f, "output.weight", 0, 0.25);
        }
    }

    @Test
    void shouldLayOutTheTokenizerLikeTheOraclesTinyModel() throws IOException {
        Path tiny = ORACLE.resolve("tiny-f32.gguf");
        assumeTrue(Files.exists(tiny), "oracle models not present");
        try (GgufFile f = GgufFile.open(model); GgufFile o = GgufFile.open(tiny)) {
            for (GgufMetadata.Entry e : o.metadata().entries().values()) {
                if (!e.key().startsWith("tokenizer.")) {
                    continue;
                }
                GgufMetadata.Entry mine = f.metadata().entries().get(e.key());
                assertEquals(e.type(), mine.type(), e.key());
                assertEquals(e.elementType(), mine.elementType(), e.key());
            }
            for (String key : List.of("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.chat_template")) {
                assertEquals(o.metadata().getString(key), f.metadata().getString(key), key);
            }
            for (String key : List.of("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id")) {
                assertEquals(o.metadata().getInt(key), f.metadata().getInt(key), key);
            }
            String[] tokens = f.metadata().getStringArray("tokenizer.ggml.tokens");
            String[] oracleTokens = o.metadata().getStringArray("tokenizer.ggml.tokens");
            assertArrayEquals(Arrays.copyOf(oracleTokens, 256), Arrays.copyOf(tokens, 256)); // the byte tokens
            assertArrayEquals(Arrays.copyOfRange(oracleTokens, 508, 512), Arrays.copyOfRange(tokens, 508, 512));
            assertArrayEquals(o.metadata().getIntArray("tokenizer.ggml.token_type"),
                    f.metadata().getIntArray("tokenizer.ggml.token_type"));
            assertTrue(f.metadata().getBoolean("tokenizer.ggml.add_bos_token", false));
        }
    }

    @Test
    void shouldMakeEveryMergeFromTokensIntoTheNextToken() throws IOException {
        try (GgufFile f = GgufFile.open(model)) {
            String[] tokens = f.metadata().getStringArray("tokenizer.ggml.tokens");
            String[] merges = f.metadata().getStringArray("tokenizer.ggml.merges");
            assertEquals(DemoModel.MERGES, merges.length);
            Set<String> known = new HashSet<>(Arrays.asList(tokens).subList(0, 256));
            for (int i = 0; i < merges.length; i++) {
                String[] parts = merges[i].split(" ", -1);
                assertEquals(2, parts.length, merges[i]);
                assertTrue(known.contains(parts[0]) && known.contains(parts[1]), "merge " + i + " uses an unknown part: " + merges[i]);
                assertEquals(parts[0] + parts[1], tokens[256 + i], "merge " + i);
                assertTrue(known.add(tokens[256 + i]), "merge " + i + " makes a duplicate token " + tokens[256 + i]);
            }
            assertTrue(known.containsAll(List.of("Ġthe", "Ġand", "Ġwas", "Ġshe", "Ġdog")), "common words are single tokens");
        }
    }

    @Test
    @Timeout(120)
    void shouldWriteAQuantizedModelAgainInF32(@TempDir Path dir) throws IOException {
        Path source = ORACLE.resolve("small-q8_0.gguf");
        assumeTrue(Files.exists(source), "oracle models not present");
        Path dest = dir.resolve("small-f32.gguf");
        DemoModel.writeSmallF32(source, dest);
        try (GgufFile src = GgufFile.open(source); GgufFile f32 = GgufFile.open(dest)) {
            assertEquals(List.copyOf(src.metadata().entries().keySet()), List.copyOf(f32.metadata().entries().keySet()));
            for (GgufMetadata.Entry e : src.metadata().entries().values()) {
                GgufMetadata.Entry copy = f32.metadata().entries().get(e.key());
                assertEquals(e.type(), copy.type(), e.key());
                if (e.key().equals("general.file_type")) {
                    assertEquals(0L, copy.value());
                } else if (e.type() == GgufValueType.ARRAY) {
                    assertTrue(Arrays.deepEquals(new Object[] {e.value()}, new Object[] {copy.value()}), e.key());
                } else {
                    assertEquals(e.value(), copy.value(), e.key());
                }
            }
            assertEquals(List.copyOf(src.tensors().keySet()), List.copyOf(f32.tensors().keySet()));
            for (GgufTensorInfo t : src.tensors().values()) {
                GgufTensorInfo c = f32.tensor(t.name());
                assertEquals(GgmlType.F32, c.type(), t.name());
                assertArrayEquals(t.dims(), c.dims(), t.name());
                assertArrayEquals(GgufQuantizer.dequantize(t), GgufQuantizer.dequantize(c), t.name());
            }
        }
    }

    private static void assertStats(GgufFile f, String name, double mean, double sd) {
        float[] v = GgufQuantizer.dequantize(f.tensor(name));
        double sum = 0;
        double sq = 0;
        for (float x : v) {
            sum += x;
            sq += x * x;
        }
        double m = sum / v.length;
        double s = Math.sqrt(sq / v.length - m * m);
        assertEquals(mean, m, 5 * sd / Math.sqrt(v.length) + 1e-6, name + " mean");
        assertEquals(sd, s, sd * 0.15, name + " standard deviation");
    }
}
