package dev.baton.engine.step;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.cpu.WorkerPool;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.tensor.FloatOps;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Split-K attention ({@link PagedAttention}) on synthetic KV: 4 query heads over 2 KV heads (GQA), head dim 32,
 * 2 layers (layer 1 is the one attended, so layer offsets count), blocks of 16 positions, F32 (the vector kernels
 * where the Vector API is usable) and F16 (the scalar path). Context lengths around the chunk boundaries
 * ({@value PagedAttention#CHUNK} positions).
 */
@Timeout(60)
class PagedAttentionTest {

    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 32;
    static final int LAYERS = 2;
    static final int LAYER = 1;
    static final int BLOCK = 16;
    static final int CONTEXT = 1100;
    static final int C = PagedAttention.CHUNK;
    /** Context lengths (positions attended, the decoded token's included). */
    static final int[] LENGTHS = {1, 17, C - 1, C, C + 1, C + 44, 2 * C - 1, 2 * C, 2 * C + 1, 4 * C + 1, CONTEXT};

    /** Attention output of each length of {@link #LENGTHS}, one decode token per batch. */
    record Outputs(float[][] att, boolean[] split) {}

    /** Sequences of every length in {@link #LENGTHS} with random K and V, one pool, queries per length. */
    static final class Fixture implements AutoCloseable {
        final KvBlockPool pool;
        final KvSequence[] seqs = new KvSequence[LENGTHS.length];
        final float[][] queries = new float[LENGTHS.length][];
        final int[] ids = new int[CONTEXT];

        Fixture(GgmlType dtype) {
            KvCacheSpec spec = new KvCacheSpec(LAYERS, KV_HEADS, HEAD_DIM, BLOCK, dtype);
            int blocks = 0;
            for (int len : LENGTHS) {
                blocks += (len + BLOCK - 1) / BLOCK;
            }
            pool = new KvBlockPool(spec, blocks);
            SplittableRandom r = new SplittableRandom(42);
            float[] row = new float[HEAD_DIM];
            for (int i = 0; i < LENGTHS.length; i++) {
                int len = LENGTHS[i];
                KvSequence s = new KvSequence(pool);
                s.reserve(len);
                for (int p = 0; p < len; p++) {
                    long base = pool.blockOffset(s.blockTable()[p / BLOCK]);
                    for (int l = 0; l < LAYERS; l++) {
                        for (int h = 0; h < KV_HEADS; h++) {
                            for (int kv = 0; kv < 2; kv++) {
                                for (int d = 0; d < HEAD_DIM; d++) {
                                    row[d] = (float) (r.nextDouble() * 2 - 1);
                                }
                                FloatOps.store(row, 0, pool.memory(), base + spec.offsetInBlock(l, kv == 1, h, p % BLOCK),
                                        dtype, HEAD_DIM);
                            }
                        }
                    }
                }
                s.setLength(len - 1); // the token at len - 1 is the one decoded; its K and V are stored already
                seqs[i] = s;
                float[] q = new float[HEADS * HEAD_DIM];
                for (int d = 0; d < q.length; d++) {
                    q[d] = (float) (r.nextGaussian() * 3); // scores of a few units: a peaked softmax
                }
                queries[i] = q;
            }
        }

        /** Each length alone, one decode token per batch. */
        Outputs decodeEach(int threads) {
            try (WorkerPool workers = new WorkerPool(threads, "attention-test")) {
                PagedAttention a = attention(workers);
                StepBatch b = new StepBatch(8, 8, 8, 1, CONTEXT);
                float[][] att = new float[LENGTHS.length][];
                boolean[] split = new boolean[LENGTHS.length];
                for (int i = 0; i < LENGTHS.length; i++) {
                    b.clear();
                    b.add(seqs[i], ids, LENGTHS[i] - 1, LENGTHS[i], false);
                    float[] out = new float[HEADS * HEAD_DIM];
                    a.run(b, pool, queries[i], out, LAYER);
                    att[i] = out;
                    split[i] = a.lastRunSplit();
                }
                return new Outputs(att, split);
            }
        }

        /** Every length in one batch (one decode token each, in reverse order). */
        float[][] decodeAllAtOnce(int threads, boolean[] splitOut) {
            try (WorkerPool workers = new WorkerPool(threads, "attention-test")) {
                PagedAttention a = attention(workers);
                int n = LENGTHS.length;
                StepBatch b = new StepBatch(n, n, n, 1, CONTEXT);
                float[] q = new float[n * HEADS * HEAD_DIM];
                for (int k = 0; k < n; k++) {
                    int i = n - 1 - k;
                    b.add(seqs[i], ids, LENGTHS[i] - 1, LENGTHS[i], false);
                    System.arraycopy(queries[i], 0, q, k * HEADS * HEAD_DIM, HEADS * HEAD_DIM);
                }
                float[] out = new float[n * HEADS * HEAD_DIM];
                a.run(b, pool, q, out, LAYER);
                splitOut[0] = a.lastRunSplit();
                float[][] att = new float[n][];
                for (int k = 0; k < n; k++) {
                    att[n - 1 - k] = Arrays.copyOfRange(out, k * HEADS * HEAD_DIM, (k + 1) * HEADS * HEAD_DIM);
                }
                return att;
            }
        }

        PagedAttention attention(WorkerPool workers) {
            return new PagedAttention(HEADS, KV_HEADS, HEAD_DIM, CONTEXT, pool.spec(), workers);
        }

        /** softmax(q K^T / sqrt(hd)) V in double, from the stored (possibly F16-rounded) K and V. */
        double[] reference(int i) {
            int len = LENGTHS[i];
            KvSequence s = seqs[i];
            KvCacheSpec spec = pool.spec();
            double[] out = new double[HEADS * HEAD_DIM];
            double scale = 1.0 / Math.sqrt(HEAD_DIM);
            for (int h = 0; h < HEADS; h++) {
                int kvh = h / (HEADS / KV_HEADS);
                double[] w = new double[len];
                double max = Double.NEGATIVE_INFINITY;
                for (int p = 0; p < len; p++) {
                    double dot = 0;
                    for (int d = 0; d < HEAD_DIM; d++) {
                        dot += queries[i][h * HEAD_DIM + d] * read(s, spec, false, kvh, p, d);
                    }
                    w[p] = dot * scale;
                    max = Math.max(max, w[p]);
                }
                double sum = 0;
                for (int p = 0; p < len; p++) {
                    w[p] = Math.exp(w[p] - max);
                    sum += w[p];
                }
                for (int p = 0; p < len; p++) {
                    for (int d = 0; d < HEAD_DIM; d++) {
                        out[h * HEAD_DIM + d] += w[p] / sum * read(s, spec, true, kvh, p, d);
                    }
                }
            }
            return out;
        }

        private double read(KvSequence s, KvCacheSpec spec, boolean value, int kvh, int p, int d) {
            MemorySegment m = pool.memory();
            long off = pool.blockOffset(s.blockTable()[p / BLOCK]) + spec.offsetInBlock(LAYER, value, kvh, p % BLOCK)
                    + (long) d * spec.elementBytes();
            return spec.dtype() == GgmlType.F32
                    ? m.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off)
                    : Float.float16ToFloat(m.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off));
        }

        @Override
        public void close() {
            for (KvSequence s : seqs) {
                s.free();
            }
            pool.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = GgmlType.class, names = {"F32", "F16"})
    void shouldMatchADoublePrecisionReferenceAroundChunkBoundaries(GgmlType dtype) {
        try (Fixture f = new Fixture(dtype)) {
            for (int threads : new int[] {1, 2}) {
                Outputs o = f.decodeEach(threads);
                for (int i = 0; i < LENGTHS.length; i++) {
                    double[] ref = f.reference(i);
                    double worst = 0;
                    for (int j = 0; j < ref.length; j++) {
                        worst = Math.max(worst, Math.abs(o.att()[i][j] - ref[j]));
                    }
                    // Outputs are weighted means of values in [-1, 1]; float rounding of scores, exp and sums
                    // stays near 1e-7 (measured: at most 2.4e-7, F32 and F16 alike).
                    assertTrue(worst <= 2e-6, dtype + ", " + threads + " thread(s), " + LENGTHS[i]
                            + " positions: max |att - reference| = " + worst);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = GgmlType.class, names = {"F32", "F16"})
    void shouldGiveTheSameBitsForOneTwoAndThreeThreads(GgmlType dtype) {
        try (Fixture f = new Fixture(dtype)) {
            Outputs one = f.decodeEach(1);
            for (int threads : new int[] {2, 3}) {
                Outputs o = f.decodeEach(threads);
                for (int i = 0; i < LENGTHS.length; i++) {
                    assertArrayEquals(one.att()[i], o.att()[i], dtype + ": " + LENGTHS[i] + " positions differ with "
                            + threads + " threads");
                    // 4 units are fewer than 4 per thread: a context longer than a chunk is split among the threads.
                    assertEquals(LENGTHS[i] > C, o.split()[i], LENGTHS[i] + " positions, " + threads + " threads");
                }
            }
            assertFalse(one.split()[LENGTHS.length - 1], "one thread never splits");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = GgmlType.class, names = {"F32", "F16"})
    void shouldGiveTheSameBitsInABatchOfAllLengthsAsAlone(GgmlType dtype) {
        try (Fixture f = new Fixture(dtype)) {
            Outputs alone = f.decodeEach(3);
            for (int threads : new int[] {1, 2, 3}) {
                boolean[] split = new boolean[1];
                float[][] batched = f.decodeAllAtOnce(threads, split);
                assertFalse(split[0], "44 units are enough to give every thread whole units");
                for (int i = 0; i < LENGTHS.length; i++) {
                    assertArrayEquals(alone.att()[i], batched[i], dtype + ": " + LENGTHS[i]
                            + " positions differ batched, " + threads + " threads");
                }
            }
        }
    }
}
