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

    /**
     * Past {@value PagedAttention#CHUNK} positions attention is split into chunks (split-K): a 600-token prompt
     * crosses two chunk boundaries. Decode steps of one sequence run split among the threads (2 and 3 threads),
     * prefill chunks in whole (token, head) units; both must give the bits of one thread and of one chunk.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"small-q8_0"})
    void shouldGiveIdenticalLongContextResultsForOneTwoAndThreeThreads(String model) throws Exception {
        int promptLen = 600;
        Trace[] traces = new Trace[3];
        Run[] chunked = new Run[3];
        Run whole = null;
        for (int threads = 1; threads <= 3; threads++) {
            try (TestModel m = new TestModel(Oracle.model(model), threads, promptLen, 8, 64, GgmlType.F32,
                    KernelMode.defaultMode())) {
                int[] target = tokens(13, promptLen + 4, m.config.vocabSize());
                traces[threads - 1] = decode(m, target, promptLen, null);
                chunked[threads - 1] = prefill(m, Arrays.copyOf(target, promptLen), 128);
                if (threads == 1) {
                    whole = prefill(m, Arrays.copyOf(target, promptLen), promptLen);
                }
            }
        }
        for (int t = 2; t <= 3; t++) {
            Trace tr = traces[t - 1];
            for (int s = 0; s < tr.logits.length; s++) {
                assertArrayEquals(traces[0].logits[s], tr.logits[s], model + ": logits differ at step " + s + " with "
                        + t + " threads");
            }
            assertArrayEquals(traces[0].kv, tr.kv, model + ": KV bytes differ with " + t + " threads");
        }
        for (int t = 1; t <= 3; t++) {
            assertArrayEquals(whole.kv, chunked[t - 1].kv, model + ": KV bytes differ in chunks of 128, " + t + " threads");
            assertArrayEquals(whole.lastLogits, chunked[t - 1].lastLogits, model + ": logits differ in chunks of 128, "
                    + t + " threads");
        }
        assertArrayEquals(whole.lastLogits, traces[0].logits[0], model + ": prefill logits differ");
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
