package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.kv.KvSnapshot;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.step.StepBatch;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The GPU forward pass on the oracle models (those cuda/device-check.sh carries) against the CPU engine, teacher-forced; its determinism (chunking, KV
 * exported from one GPU engine continuing in another bit-exactly); greedy tokens equal to the CPU's on an F32 model.
 * Skipped, naming why, where no GPU can be used.
 */
@Tag("gpu")
class CudaBackendGpuTest {

    static final Path MODELS = Path.of(System.getProperty("baton.oracle.dir"), "models");
    static final int[] PROMPT = {1, 450, 4996, 17354, 1701, 432, 17204, 975, 278, 17366, 11203, 29889, 13, 1576, 4996,
            17354, 1701, 432, 17204, 975, 278, 17366, 11203, 29889, 13, 1576, 4996, 17354, 1701, 432, 17204, 975};

    @BeforeEach
    void gpu() {
        CudaDevice.Availability a = CudaDevice.probe();
        Assumptions.assumeTrue(a.available(), () -> "no GPU: " + a.reason());
    }

    static EngineSettings settings(String model, String backend) {
        return EngineSettings.defaults(MODELS.resolve(model)).withThreads(2).withKvCacheBytes(64L << 20)
                .withBackend(backend, 0);
    }

    /** Logits of every prompt position, the prompt given in chunks of {@code chunk} tokens. */
    static float[][] teacherForced(Engine e, int[] tokens, int chunk) {
        int vocab = e.config().vocabSize();
        int[] ids = Arrays.stream(tokens).map(t -> t % vocab).toArray();
        KvSequence seq = e.newSequence();
        StepBatch b = e.newBatch();
        float[][] rows = new float[ids.length][];
        for (int from = 0; from < ids.length; from += chunk) {
            int to = Math.min(ids.length, from + chunk);
            b.clear();
            b.add(seq, ids, from, to, to - from);
            e.forward().step(b);
            for (int r = 0; r < to - from; r++) {
                rows[from + r] = Arrays.copyOfRange(e.forward().logits(), r * vocab, (r + 1) * vocab);
            }
        }
        seq.free();
        return rows;
    }

    /**
     * The CPU engine on the same weights in float: a quantized model is compared with its dequantized F32 copy
     * ({@link dev.baton.engine.model.DemoModel#writeSmallF32}), since on quantized weights the CPU also rounds each
     * activation row to Q8_0 as llama.cpp does (up to 0.33 on tiny-q8_0's logits) and the GPU does not. Then both sum
     * the same float products in another order: 1e-2 on logits of magnitude ~10, and the same top token on every row.
     */
    static Engine cpuReference(String model, Path tmp) throws Exception {
        if (model.contains("f32")) {
            return Engine.open(settings(model, "cpu"));
        }
        Path f32 = tmp.resolve(model.replace(".gguf", "-as-f32.gguf"));
        dev.baton.engine.model.DemoModel.writeSmallF32(MODELS.resolve(model), f32);
        return Engine.open(EngineSettings.defaults(f32).withThreads(2).withKvCacheBytes(64L << 20));
    }

    @Test
    void logitsShouldMatchTheCpuEngineOnTheOracleModels(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        for (String model : new String[] {"tiny-f32.gguf", "tiny-qwen2-f32.gguf", "tiny-llama3rope-f32.gguf",
                "tiny-q8_0.gguf", "small-kq-q4_k_m.gguf"}) {
            try (Engine cpu = cpuReference(model, tmp); Engine gpu = Engine.open(settings(model, "cuda"))) {
                assertTrue(gpu.forward().describe().startsWith("cuda (GPU 0"), gpu.forward().describe());
                assertLogitsClose(model, teacherForced(cpu, PROMPT, 16), teacherForced(gpu, PROMPT, 16), 1e-2f);
            }
        }
    }

    static void assertLogitsClose(String model, float[][] want, float[][] got, float tolerance) {
        for (int r = 0; r < want.length; r++) {
            float max = 0;
            for (int i = 0; i < want[r].length; i++) {
                max = Math.max(max, Math.abs(want[r][i] - got[r][i]));
            }
            assertTrue(max <= tolerance, model + " row " + r + ": logits differ by " + max);
            assertEquals(argmax(want[r]), argmax(got[r]), model + " row " + r + ": top token");
        }
    }

    @Test
    void resultsShouldNotDependOnChunkingAndKvShouldContinueInAnotherEngineBitExactly() throws Exception {
        try (Engine a = Engine.open(settings("small-kq-q4_k_m.gguf", "cuda"));
                Engine b = Engine.open(settings("small-kq-q4_k_m.gguf", "cuda"))) {
            float[][] one = teacherForced(a, PROMPT, 1);
            for (int chunk : new int[] {5, 16, 32}) {
                float[][] other = teacherForced(a, PROMPT, chunk);
                for (int r = 0; r < PROMPT.length; r++) {
                    assertArrayEquals(one[r], other[r], "chunks of " + chunk + ", row " + r);
                }
            }
            // on another thread, as an engine loop steps it (the context is current per thread)
            java.util.concurrent.ExecutorService loop = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                float[][] onLoop = loop.submit(() -> teacherForced(a, PROMPT, 16)).get();
                for (int r = 0; r < PROMPT.length; r++) {
                    assertArrayEquals(one[r], onLoop[r], "another thread, row " + r);
                }
            } finally {
                loop.shutdownNow();
            }
            // prompt on engine a, its KV exported (the host pool, written back each step) and imported by engine b:
            // the next step gives the same logits on both
            int vocab = a.config().vocabSize();
            int[] ids = Arrays.stream(PROMPT).map(t -> t % vocab).toArray();
            KvSequence sa = a.newSequence();
            StepBatch ba = a.newBatch();
            ba.add(sa, ids, 0, ids.length - 1, false);
            a.forward().step(ba);
            KvSnapshot snap = a.exportKv(sa, Arrays.copyOf(ids, ids.length - 1));
            KvSequence sb = b.importKv(snap);
            ba.clear();
            ba.add(sa, ids, ids.length - 1, ids.length, true);
            a.forward().step(ba);
            float[] la = Arrays.copyOf(a.forward().logits(), vocab);
            StepBatch bb = b.newBatch();
            bb.add(sb, ids, ids.length - 1, ids.length, true);
            b.forward().step(bb);
            assertArrayEquals(la, Arrays.copyOf(b.forward().logits(), vocab), "KV imported from another GPU engine");
            assertArrayEquals(one[ids.length - 1], la, "the same logits as the whole prompt at once");
        }
    }

    @Test
    void greedyTokensShouldEqualTheCpuEnginesOnAnF32Model() throws Exception {
        try (Engine cpu = Engine.open(settings("tiny-f32.gguf", "cpu")); Engine gpu = Engine.open(settings("tiny-f32.gguf", "cuda"))) {
            int[] prompt = cpu.tokenizer().encode("Once upon a time", true, false);
            SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(48).ignoreEos(true).build();
            int[] want = new Generator(cpu).generate(prompt, greedy, text -> {}).tokens();
            int[] got = new Generator(gpu).generate(prompt, greedy, text -> {}).tokens();
            assertArrayEquals(want, got);
            assertEquals(48, got.length);
        }
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }
}
