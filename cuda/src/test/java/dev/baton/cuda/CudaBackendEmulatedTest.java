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
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaBackend}'s host side on an {@link EmulatedGpu} (the kernels carried out in Java to their contracts; no
 * GPU exists here): its logits against the CPU engine on the oracle models, results that do not depend on chunking
 * or on the other sequences of a batch, KV written back to the host pool that another engine imports and continues
 * from (the stale-block uploads), and greedy generation equal to the CPU's. {@link CudaBackendGpuTest} runs the same
 * on a real GPU.
 */
class CudaBackendEmulatedTest {

    static EngineSettings settings(String model, String backend) {
        return CudaBackendGpuTest.settings(model, backend).withKvCacheBytes(16L << 20);
    }

    static Engine emulated(String model) throws Exception {
        return Engine.open(settings(model, EmulatedBackendProvider.NAME));
    }

    /** Against the CPU engine on the same float weights (CudaBackendGpuTest#cpuReference): 1e-3 here. */
    @Test
    void logitsShouldMatchTheCpuEngineOnTheOracleModels(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        for (String model : new String[] {"tiny-f32.gguf", "tiny-qwen2-f32.gguf", "tiny-llama3rope-f32.gguf",
                "tiny-q8_0.gguf", "small-kq-q4_k_m.gguf"}) {
            try (Engine cpu = CudaBackendGpuTest.cpuReference(model, tmp); Engine gpu = emulated(model)) {
                assertTrue(gpu.forward().describe().startsWith("cuda (GPU 0 emulated"), gpu.forward().describe());
                CudaBackendGpuTest.assertLogitsClose(model, CudaBackendGpuTest.teacherForced(cpu, CudaBackendGpuTest.PROMPT, 16),
                        CudaBackendGpuTest.teacherForced(gpu, CudaBackendGpuTest.PROMPT, 16), 1e-3f);
            }
        }
    }

    @Test
    void resultsShouldNotDependOnChunkingOrTheBatchAndImportedKvShouldContinueBitExactly() throws Exception {
        try (Engine a = emulated("tiny-q8_0.gguf"); Engine b = emulated("tiny-q8_0.gguf")) {
            int[] prompt = CudaBackendGpuTest.PROMPT;
            float[][] one = CudaBackendGpuTest.teacherForced(a, prompt, 1);
            for (int chunk : new int[] {5, 16, 32}) {
                float[][] other = CudaBackendGpuTest.teacherForced(a, prompt, chunk);
                for (int r = 0; r < prompt.length; r++) {
                    assertArrayEquals(one[r], other[r], "chunks of " + chunk + ", row " + r);
                }
            }
            int vocab = a.config().vocabSize();
            int[] ids = Arrays.stream(prompt).map(t -> t % vocab).toArray();

            // a sequence decoding beside another's prefill: the same logits as alone
            KvSequence s1 = a.newSequence();
            StepBatch batch = a.newBatch();
            batch.add(s1, ids, 0, 20, false);
            a.forward().step(batch);
            KvSequence s2 = a.newSequence();
            batch.clear();
            batch.add(s2, ids, 0, 12, true);
            batch.add(s1, ids, 20, 21, true);
            a.forward().step(batch);
            assertArrayEquals(one[11], Arrays.copyOfRange(a.forward().logits(), 0, vocab), "prefill beside a decode");
            assertArrayEquals(one[20], Arrays.copyOfRange(a.forward().logits(), vocab, 2 * vocab), "decode beside a prefill");
            s2.free();

            // s1's KV, written back to a's host pool, imported by b: b uploads it and continues as a does
            KvSnapshot snap = a.exportKv(s1, Arrays.copyOf(ids, 21));
            KvSequence imported = b.importKv(snap);
            assertEquals(21, imported.length());
            StepBatch bb = b.newBatch();
            bb.add(imported, ids, 21, 22, true);
            b.forward().step(bb);
            assertArrayEquals(one[21], Arrays.copyOf(b.forward().logits(), vocab), "KV imported into another engine");
            batch.clear();
            batch.add(s1, ids, 21, 22, true);
            a.forward().step(batch);
            assertArrayEquals(one[21], Arrays.copyOf(a.forward().logits(), vocab), "the exporting engine continues alike");
            s1.free();
            imported.free();
            assertEquals(a.pool().blockCount(), a.pool().freeBlockCount() + a.pool().evictableBlockCount(), "no block held");
        }
    }

    @Test
    void greedyTokensShouldEqualTheCpuEnginesOnAnF32Model() throws Exception {
        try (Engine cpu = Engine.open(settings("tiny-f32.gguf", "cpu")); Engine gpu = emulated("tiny-f32.gguf")) {
            int[] prompt = cpu.tokenizer().encode("Once upon a time", true, false);
            SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(32).ignoreEos(true).build();
            int[] want = new Generator(cpu).generate(prompt, greedy, text -> {}).tokens();
            int[] got = new Generator(gpu).generate(prompt, greedy, text -> {}).tokens();
            assertArrayEquals(want, got);
            assertEquals(32, got.length);
        }
    }
}
