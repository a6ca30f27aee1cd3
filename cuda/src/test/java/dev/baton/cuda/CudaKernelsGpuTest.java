package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufQuantizer;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.tensor.FloatOps;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Each kernel on a GPU against the CPU's arithmetic (in double where the CPU engine has no single routine), and the
 * determinism contract: a product's outputs have the same bits whatever the number of tokens launched with it.
 * Skipped, naming why, where no GPU can be used (cuda/device-check.sh runs them on one).
 */
@Tag("gpu")
class CudaKernelsGpuTest {

    static CudaDevice gpu;

    /** Each test is skipped, with the reason, where no GPU can be used. */
    @BeforeEach
    void open() {
        CudaDevice.Availability a = CudaDevice.probe();
        Assumptions.assumeTrue(a.available(), () -> "no GPU: " + a.reason());
        if (gpu == null) {
            gpu = CudaDevice.open(0);
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
    }

    static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    @Test
    void rmsnormShouldMatchTheCpu() {
        Random r = new Random(1);
        int dim = 896;
        int rows = 5;
        float[] x = random(r, rows * dim, 1f);
        float[] w = random(r, dim, 1f);
        DeviceMemory out = gpu.alloc(4L * rows * dim);
        gpu.launch(LaunchGeometry.rmsnorm(rows), gpu.upload(x), gpu.upload(w), out, dim, 1e-6f, null);
        float[] got = new float[rows * dim];
        gpu.download(got, out, got.length);
        float[] want = new float[rows * dim];
        for (int t = 0; t < rows; t++) {
            FloatOps.rmsnorm(want, t * dim, x, t * dim, w, dim, 1e-6f);
        }
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5f * Math.max(1f, Math.abs(want[i])), "element " + i);
        }
    }

    @Test
    void productsShouldMatchTheDequantizedWeightsAndNotDependOnTheTokenCount() {
        Random r = new Random(2);
        int rows = 200;
        int cols = 512;
        for (GgmlType type : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
                GgmlType.Q4_K, GgmlType.Q6_K)) {
            byte[] q;
            float[] dq;
            if (GgufQuantizer.canEncode(type)) {
                q = GgufQuantizer.quantize(type, random(r, rows * cols, 0.05f));
                dq = GgufQuantizer.dequantize(type, MemorySegment.ofArray(q), rows * cols);
            } else { // K-quants: random super-blocks with small valid scales, decoded by the engine bit-exactly
                q = new byte[(int) type.byteSize((long) rows * cols)];
                r.nextBytes(q);
                short small = Float.floatToFloat16(0.002f);
                for (int b = 0; b < q.length / type.blockBytes; b++) {
                    int at = b * type.blockBytes + (type == GgmlType.Q6_K ? 208 : 0);
                    q[at] = (byte) small;
                    q[at + 1] = (byte) (small >> 8);
                    if (type == GgmlType.Q4_K) {
                        q[at + 2] = (byte) small;
                        q[at + 3] = (byte) (small >> 8);
                    }
                }
                dq = dev.baton.engine.tensor.WeightMatrix.dequantizeAll(new dev.baton.engine.gguf.GgufTensorInfo("w", new long[] {cols, rows}, type, 0,
                        MemorySegment.ofArray(q)));
            }
            long rowBytes = q.length / rows;
            DeviceMemory wd = gpu.upload(q);
            int maxTokens = 13;
            float[] x = random(r, maxTokens * cols, 1f);
            DeviceMemory xd = gpu.upload(x);
            float[][] byCount = new float[3][];
            int[] counts = {1, 3, 13};
            for (int k = 0; k < counts.length; k++) {
                int tokens = counts[k];
                DeviceMemory y = gpu.alloc(4L * tokens * rows);
                gpu.launch(LaunchGeometry.gemm(type, rows, cols, tokens), wd, rowBytes, xd, cols, y, rows, rows, cols, tokens);
                float[] got = new float[tokens * rows];
                gpu.download(got, y, got.length);
                byCount[k] = got;
                for (int t = 0; t < tokens; t++) {
                    for (int row = 0; row < rows; row++) {
                        double s = 0;
                        double mag = 0;
                        for (int c = 0; c < cols; c++) {
                            s += (double) dq[row * cols + c] * x[t * cols + c];
                            mag += Math.abs((double) dq[row * cols + c] * x[t * cols + c]);
                        }
                        assertEquals(s, got[t * rows + row], 1e-5 * mag + 1e-6, type + " token " + t + " row " + row);
                    }
                }
            }
            float[] first1 = java.util.Arrays.copyOf(byCount[0], rows);
            assertArrayEquals(first1, java.util.Arrays.copyOf(byCount[1], rows), type + ": 1 token vs 3");
            assertArrayEquals(first1, java.util.Arrays.copyOf(byCount[2], rows), type + ": 1 token vs 13");
            assertArrayEquals(java.util.Arrays.copyOf(byCount[1], 3 * rows), java.util.Arrays.copyOf(byCount[2], 3 * rows),
                    type + ": 3 tokens vs 13");
        }
    }

    @Test
    void ropeShouldRotateAsTheCpuAndWriteKvWhereTheBlockTableSays() {
        Random r = new Random(3);
        int heads = 4;
        int kvHeads = 2;
        int hd = 64;
        int tokens = 3;
        KvCacheSpec spec = new KvCacheSpec(2, kvHeads, hd, 16, GgmlType.F32);
        int[] positions = {0, 17, 40};
        int[] tokenSeq = {0, 0, 1};
        int maxBlocks = 4;
        int[] tables = {3, 1, 0, 0, 2, 5, 4, 0}; // sequence 0: blocks 3, 1; sequence 1: 2, 5, 4
        float[] q = random(r, tokens * heads * hd, 1f);
        float[] k = random(r, tokens * kvHeads * hd, 1f);
        float[] v = random(r, tokens * kvHeads * hd, 1f);
        DeviceMemory qd = gpu.upload(q);
        DeviceMemory kd = gpu.upload(k);
        DeviceMemory kv = gpu.alloc(6 * spec.blockBytes());
        DeviceMemory staging = gpu.alloc((long) tokens * 2 * 2 * kvHeads * spec.rowBytes());
        int layer = 1;
        double base = 10000;
        for (int neox = 0; neox < 2; neox++) {
            gpu.copy(qd, q, q.length);
            gpu.copy(kd, k, k.length);
            gpu.launch(LaunchGeometry.ropeStore(GgmlType.F32, tokens, heads, kvHeads, hd), qd, kd, gpu.upload(v),
                    gpu.upload(positions), gpu.upload(tokenSeq), gpu.upload(tables), kv, KvGeometry.of(spec, maxBlocks), layer,
                    heads, kvHeads, hd, hd, base, null, neox, staging, 2);
            float[] gq = new float[q.length];
            gpu.download(gq, qd, gq.length);
            byte[] kvBytes = new byte[(int) (6 * spec.blockBytes())];
            gpu.download(kvBytes, kv, kvBytes.length);
            ByteBuffer kb = ByteBuffer.wrap(kvBytes).order(ByteOrder.LITTLE_ENDIAN);
            byte[] stagingBytes = new byte[tokens * 2 * 2 * kvHeads * spec.rowBytes()];
            gpu.download(stagingBytes, staging, stagingBytes.length);
            ByteBuffer sb = ByteBuffer.wrap(stagingBytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < tokens; t++) {
                float[] wq = rope(q, (t * heads) * hd, heads, hd, positions[t], base, neox == 1);
                for (int i = 0; i < heads * hd; i++) {
                    assertEquals(wq[i], gq[t * heads * hd + i], 1e-5f, "q token " + t + " element " + i);
                }
                float[] wk = rope(k, (t * kvHeads) * hd, kvHeads, hd, positions[t], base, neox == 1);
                int block = tables[tokenSeq[t] * maxBlocks + positions[t] / 16];
                for (int h = 0; h < kvHeads; h++) {
                    long ko = block * spec.blockBytes() + spec.offsetInBlock(layer, false, h, positions[t] % 16);
                    long vo = block * spec.blockBytes() + spec.offsetInBlock(layer, true, h, positions[t] % 16);
                    for (int d = 0; d < hd; d++) {
                        assertEquals(wk[h * hd + d], kb.getFloat((int) ko + 4 * d), 1e-5f, "k token " + t + " head " + h);
                        assertEquals(v[(t * kvHeads + h) * hd + d], kb.getFloat((int) vo + 4 * d), "v token " + t);
                        // the staging rows: (token, layer, K|V, head)
                        int ks = (((t * 2 + layer) * 2) * kvHeads + h) * spec.rowBytes();
                        int vs = (((t * 2 + layer) * 2 + 1) * kvHeads + h) * spec.rowBytes();
                        assertEquals(kb.getFloat((int) ko + 4 * d), sb.getFloat(ks + 4 * d), "staged k token " + t);
                        assertEquals(kb.getFloat((int) vo + 4 * d), sb.getFloat(vs + 4 * d), "staged v token " + t);
                    }
                }
            }
        }
    }

    /** RoPE as ForwardPass applies it (angles in double), over every head of one token. */
    static float[] rope(float[] a, int offset, int heads, int hd, int pos, double base, boolean neox) {
        float[] out = java.util.Arrays.copyOfRange(a, offset, offset + heads * hd);
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double theta = pos * Math.pow(base, -2.0 * i / hd);
                float c = (float) Math.cos(theta);
                float s = (float) Math.sin(theta);
                int i0 = h * hd + (neox ? i : 2 * i);
                int i1 = h * hd + (neox ? i + half : 2 * i + 1);
                float x0 = out[i0];
                float x1 = out[i1];
                out[i0] = x0 * c - x1 * s;
                out[i1] = x0 * s + x1 * c;
            }
        }
        return out;
    }

    @Test
    void splitKAttentionShouldEqualSoftmaxAttentionOverPagedKv() {
        Random r = new Random(4);
        int heads = 4;
        int kvHeads = 2;
        int hd = 64;
        for (GgmlType dtype : List.of(GgmlType.F32, GgmlType.F16)) {
            KvCacheSpec spec = new KvCacheSpec(1, kvHeads, hd, 16, dtype);
            int[] positions = {100, 700}; // one chunk; three chunks
            int[] tokenSeq = {0, 1};
            int maxBlocks = 48;
            int blocks = 2 * maxBlocks;
            int[] tables = new int[2 * maxBlocks];
            for (int i = 0; i < tables.length; i++) {
                tables[i] = (i * 37) % blocks; // scattered blocks
            }
            float[] keys = random(r, blocks * 16 * kvHeads * hd, 1f);
            float[] values = random(r, blocks * 16 * kvHeads * hd, 1f);
            ByteBuffer kvb = ByteBuffer.allocate((int) (blocks * spec.blockBytes())).order(ByteOrder.LITTLE_ENDIAN);
            for (int b = 0; b < blocks; b++) {
                for (int h = 0; h < kvHeads; h++) {
                    for (int slot = 0; slot < 16; slot++) {
                        for (int d = 0; d < hd; d++) {
                            int i = ((b * 16 + slot) * kvHeads + h) * hd + d;
                            put(kvb, b * spec.blockBytes() + spec.offsetInBlock(0, false, h, slot), d, keys[i], dtype);
                            put(kvb, b * spec.blockBytes() + spec.offsetInBlock(0, true, h, slot), d, values[i], dtype);
                        }
                    }
                }
            }
            float[] q = random(r, 2 * heads * hd, 1f);
            int maxChunks = SplitK.chunks(700);
            DeviceMemory partial = gpu.alloc(4 * SplitK.workspaceFloats(2, heads, hd, maxChunks));
            DeviceMemory out = gpu.alloc(4L * 2 * heads * hd);
            DeviceMemory pd = gpu.upload(positions);
            float scale = (float) (1 / Math.sqrt(hd));
            gpu.launch(LaunchGeometry.attention(dtype, 2, heads, hd, maxChunks), gpu.upload(q), gpu.upload(kvb.array()), pd,
                    gpu.upload(tokenSeq), gpu.upload(tables), KvGeometry.of(spec, maxBlocks), 0, heads, kvHeads, hd, scale,
                    maxChunks, partial);
            gpu.launch(LaunchGeometry.attentionMerge(2, heads), partial, pd, heads, hd, maxChunks, out);
            float[] got = new float[2 * heads * hd];
            gpu.download(got, out, got.length);
            for (int t = 0; t < 2; t++) {
                for (int h = 0; h < heads; h++) {
                    int kh = h / (heads / kvHeads);
                    int len = positions[t] + 1;
                    double[] s = new double[len];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = 0; p < len; p++) {
                        int b = tables[tokenSeq[t] * maxBlocks + p / 16];
                        for (int d = 0; d < hd; d++) {
                            s[p] += q[(t * heads + h) * hd + d] * scale * (double) stored(keys[((b * 16 + p % 16) * kvHeads + kh) * hd + d], dtype);
                        }
                        max = Math.max(max, s[p]);
                    }
                    double sum = 0;
                    for (int p = 0; p < len; p++) {
                        s[p] = Math.exp(s[p] - max);
                        sum += s[p];
                    }
                    for (int d = 0; d < hd; d++) {
                        double o = 0;
                        for (int p = 0; p < len; p++) {
                            int b = tables[tokenSeq[t] * maxBlocks + p / 16];
                            o += s[p] * stored(values[((b * 16 + p % 16) * kvHeads + kh) * hd + d], dtype);
                        }
                        assertEquals(o / sum, got[(t * heads + h) * hd + d], 2e-5, dtype + " token " + t + " head " + h);
                    }
                }
            }
        }
    }

    static float stored(float v, GgmlType dtype) {
        return dtype == GgmlType.F16 ? Float.float16ToFloat(Float.floatToFloat16(v)) : v;
    }

    static void put(ByteBuffer b, long rowOffset, int d, float v, GgmlType dtype) {
        if (dtype == GgmlType.F16) {
            b.putShort((int) rowOffset + 2 * d, Float.floatToFloat16(v));
        } else {
            b.putFloat((int) rowOffset + 4 * d, v);
        }
    }

    @Test
    void samplingPrimitivesShouldPickAsTheDistributionSays() {
        int vocab = 5000;
        float[] logits = new float[2 * vocab];
        Random r = new Random(5);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        logits[1234] = 9f;
        logits[4321] = 9f; // a tie: the lower index wins
        logits[vocab + 77] = 11f;
        DeviceMemory ld = gpu.upload(logits);
        DeviceMemory ids = gpu.alloc(8);
        gpu.launch(LaunchGeometry.rows("baton_argmax", 2), ld, vocab, ids);
        int[] got = new int[2];
        gpu.download(got, ids, 2);
        assertArrayEquals(new int[] {1234, vocab + 77 - vocab}, got);

        float[] invT = {1f, 0.5f};
        DeviceMemory probs = gpu.alloc(4L * 2 * vocab);
        gpu.launch(LaunchGeometry.rows("baton_softmax", 2), ld, gpu.upload(invT), vocab, probs);
        float[] p = new float[2 * vocab];
        gpu.download(p, probs, p.length);
        for (int row = 0; row < 2; row++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, logits[row * vocab + i] * invT[row]);
            }
            double sum = 0;
            for (int i = 0; i < vocab; i++) {
                sum += Math.exp(logits[row * vocab + i] * invT[row] - max);
            }
            for (int i = 0; i < vocab; i += 97) {
                assertEquals(Math.exp(logits[row * vocab + i] * invT[row] - max) / sum, p[row * vocab + i], 1e-6);
            }
        }
        for (float u : new float[] {0f, 0.1f, 0.5f, 0.93f, 0.999f}) {
            gpu.launch(LaunchGeometry.rows("baton_sample", 2), probs, gpu.upload(new float[] {u, u}), vocab, ids);
            gpu.download(got, ids, 2);
            for (int row = 0; row < 2; row++) {
                double before = 0;
                for (int i = 0; i < got[row]; i++) {
                    before += p[row * vocab + i];
                }
                double target = u;
                assertTrue(before <= target + 1e-5 && target < before + p[row * vocab + got[row]] + 1e-5,
                        "u " + u + " row " + row + " picked " + got[row] + " with mass before it " + before);
            }
        }
    }
}
