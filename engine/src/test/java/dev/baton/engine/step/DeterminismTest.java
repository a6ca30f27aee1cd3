package dev.baton.engine.step;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.tensor.KernelMode;
import dev.baton.engine.testing.Kv;
import dev.baton.engine.testing.Oracle;
import dev.baton.engine.testing.TestModel;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The determinism contract of docs/design.md §4: a sequence's KV bytes and logits do not depend on chunk
 * sizes, on the other sequences in its batch, or on the thread count. Compared bit for bit.
 */
@Timeout(180)
class DeterminismTest {

    static final int PROMPT = 100;

    static int[] tokens(long seed, int n, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(vocab);
        }
        return t;
    }

    record Run(byte[] kv, float[] lastLogits) {}

    static Run prefill(TestModel m, int[] prompt, int chunk) {
        KvSequence seq = new KvSequence(m.pool);
        StepBatch b = m.forward.newBatch(1);
        int done = 0;
        int row = -1;
        while (done < prompt.length) {
            int n = Math.min(chunk, prompt.length - done);
            b.clear();
            row = b.add(seq, prompt, done, done + n, done + n == prompt.length);
            m.forward.step(b);
            done += n;
        }
        int v = m.config.vocabSize();
        Run r = new Run(Kv.bytes(seq), Arrays.copyOfRange(m.forward.logits(), row * v, (row + 1) * v));
        seq.free();
        return r;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-f32", "tiny-q8_0", "small-q4_0", "small-kq-q4_k_m"})
    void shouldGiveIdenticalKvAndLogitsForEveryChunkSize(String model) throws Exception {
        try (TestModel m = new TestModel(Oracle.model(model), 1, 128, 8, 64, GgmlType.F32, KernelMode.defaultMode())) {
            int[] prompt = tokens(7, PROMPT, m.config.vocabSize());
            Run whole = prefill(m, prompt, PROMPT);
            for (int chunk : new int[] {1, 5, 16, 64}) {
                Run r = prefill(m, prompt, chunk);
                assertArrayEquals(whole.kv, r.kv, model + ": KV bytes differ with chunks of " + chunk);
                assertArrayEquals(whole.lastLogits, r.lastLogits, model + ": logits differ with chunks of " + chunk);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-f32", "small-q8_0", "small-kq-q4_k_m"})
    void shouldGiveIdenticalResultsAloneAndBatchedWithSevenOthers(String model) throws Exception {
        try (TestModel m = new TestModel(Oracle.model(model), 1, 256, 8, 128, GgmlType.F32, KernelMode.defaultMode());
                TestModel m2 = new TestModel(Oracle.model(model), 2, 256, 8, 128, GgmlType.F32, KernelMode.defaultMode())) {
            int vocab = m.config.vocabSize();
            int[] target = tokens(11, 40 + 12, vocab); // 40 prompt tokens, then 12 forced decode tokens
            Trace alone = decode(m, target, 40, null);
            int[][] others = new int[7][];
            for (int i = 0; i < 7; i++) {
                others[i] = tokens(100 + i, 20 + 9 * i + 12, vocab);
            }
            Trace batched = decode(m, target, 40, others);
            Trace twoThreads = decode(m2, target, 40, others);
            for (int s = 0; s < alone.logits.length; s++) {
                assertArrayEquals(alone.logits[s], batched.logits[s], model + ": logits differ at step " + s + " when batched");
                assertArrayEquals(alone.logits[s], twoThreads.logits[s], model + ": logits differ at step " + s
                        + " with 2 threads");
            }
            assertArrayEquals(alone.kv, batched.kv, model + ": KV bytes differ when batched");
            assertArrayEquals(alone.kv, twoThreads.kv, model + ": KV bytes differ with 2 threads");
        }
    }

    record Trace(float[][] logits, byte[] kv) {}

    /**
     * Prefills {@code target[0, promptLen)} in one chunk, then feeds the rest one token per step. The
     * other sequences join from the first step: each is prefilled in chunks of 7 while the target
     * decodes, then decodes itself.
     */
    static Trace decode(TestModel m, int[] target, int promptLen, int[][] others) {
        int vocab = m.config.vocabSize();
        KvSequence seq = new KvSequence(m.pool);
        KvSequence[] o = new KvSequence[others == null ? 0 : others.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = new KvSequence(m.pool);
        }
        StepBatch b = m.forward.newBatch(8);
        float[][] logits = new float[target.length - promptLen + 1][];
        int pos = 0;
        int step = 0;
        while (pos < target.length) {
            b.clear();
            int end = pos == 0 ? promptLen : pos + 1;
            for (int i = 0; i < o.length; i++) {
                int len = o[i].length();
                if (len < others[i].length) {
                    b.add(o[i], others[i], len, Math.min(others[i].length, len + 7), true);
                }
            }
            int row = b.add(seq, target, pos, end, true);
            m.forward.step(b);
            logits[step++] = Arrays.copyOfRange(m.forward.logits(), row * vocab, (row + 1) * vocab);
            pos = end;
        }
        assertEquals(logits.length, step);
        Trace t = new Trace(logits, Kv.bytes(seq));
        seq.free();
        for (KvSequence s : o) {
            s.free();
        }
        return t;
    }
}
