package dev.baton.engine.step;

import dev.baton.engine.EngineException;
import dev.baton.engine.cpu.WorkerPool;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.model.Architecture;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.model.Weights;
import dev.baton.engine.tensor.FloatOps;
import dev.baton.engine.tensor.InputBatch;
import dev.baton.engine.tensor.KernelMode;
import dev.baton.engine.tensor.VectorMath;
import dev.baton.engine.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;

/**
 * One transformer forward pass over a {@link StepBatch}: writes the batch's K and V into the KV
 * blocks and computes logits for the rows the batch asked for.
 *
 * <p>Determinism: every value of a token (its K/V bytes, its logits) is computed by one thread in a
 * fixed order that depends only on that token and its sequence's earlier KV, never on the other
 * tokens of the batch, the chunking of the prompt or the thread count. Matrix rows are split among
 * threads; attention ({@link PagedAttention}) is split by (token, head), and for a context longer than
 * {@value PagedAttention#CHUNK} positions by fixed chunks of positions merged in a fixed order (split-K).
 *
 * <p>All buffers are allocated once for the batch limits; {@link #step} allocates nothing.
 * Not thread-safe: one caller (the engine loop) at a time.
 */
public final class ForwardPass implements ForwardBackend {

    private final ModelConfig c;
    private final Weights w;
    private final KvCacheSpec spec;
    private final WorkerPool workers;
    private final int maxTokens;
    private final int maxLogitRows;

    // activations, (tokens, width) row-major
    private final float[] x;      // (T, dim) residual stream
    private final float[] xb;     // (T, max(dim, qDim)) normed input / projection output
    private final float[] q;      // (T, qDim)
    private final float[] k;      // (T, kvDim)
    private final float[] v;      // (T, kvDim)
    private final float[] att;    // (T, qDim) attention output
    private final float[] hb;     // (T, ffn) gate, then silu(gate) * up
    private final float[] hb2;    // (T, ffn) up
    private final float[] ropeCos; // (T, ropeDims/2)
    private final float[] ropeSin;
    private final float[] logits; // (maxLogitRows, vocab)
    private final InputBatch input;

    private final MatmulTask matmul = new MatmulTask();
    private final PagedAttention attention;

    // step state read by tasks
    private StepBatch batch;
    private MemorySegment kvMemory;
    private KvBlockPool kvPool;
    private int layer;

    private final KernelMode kernels;

    public ForwardPass(ModelConfig config, Weights weights, KvCacheSpec spec, int maxTokens, int maxLogitRows,
            WorkerPool workers) {
        this(config, weights, spec, maxTokens, maxLogitRows, workers, KernelMode.defaultMode());
    }

    /** With {@code kernels} the mode the weights were loaded with (for {@link #describe()}). */
    public ForwardPass(ModelConfig config, Weights weights, KvCacheSpec spec, int maxTokens, int maxLogitRows,
            WorkerPool workers, KernelMode kernels) {
        this.kernels = kernels;
        if (spec.layerCount() != config.layerCount() || spec.kvHeadCount() != config.kvHeadCount()
                || spec.headDim() != config.headDim()) {
            throw new EngineException("KV cache spec " + spec + " does not match the model");
        }
        this.c = config;
        this.w = weights;
        this.spec = spec;
        this.workers = workers;
        this.maxTokens = maxTokens;
        this.maxLogitRows = maxLogitRows;
        int width = Math.max(c.dim(), c.qDim());
        x = new float[maxTokens * c.dim()];
        xb = new float[maxTokens * width];
        q = new float[maxTokens * c.qDim()];
        k = new float[maxTokens * c.kvDim()];
        v = new float[maxTokens * c.kvDim()];
        att = new float[maxTokens * c.qDim()];
        hb = new float[maxTokens * c.ffnDim()];
        hb2 = new float[maxTokens * c.ffnDim()];
        ropeCos = new float[maxTokens * c.ropeDims() / 2];
        ropeSin = new float[maxTokens * c.ropeDims() / 2];
        attention = new PagedAttention(c.headCount(), c.kvHeadCount(), c.headDim(), c.contextLength(), spec, workers);
        logits = new float[Math.multiplyExact(maxLogitRows, c.vocabSize())];
        input = new InputBatch(Math.max(maxTokens, maxLogitRows), Math.max(width, c.ffnDim()));
    }

    /** A batch sized for this pass's limits. */
    @Override
    public StepBatch newBatch(int maxSequences) {
        return new StepBatch(maxTokens, maxSequences, maxLogitRows, c.vocabSize(), c.contextLength());
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public String describe() {
        return "cpu (" + kernels.describe() + ", " + workers.threads() + " threads)";
    }

    /** Logits of the last step: row {@code r} at {@code [r * vocabSize, (r + 1) * vocabSize)}. */
    @Override
    public float[] logits() {
        return logits;
    }

    /** Runs the batch; on return each sequence's KV length covers its added tokens. */
    @Override
    public void step(StepBatch b) {
        int n = b.tokenCount;
        if (n == 0) {
            return;
        }
        if (b.maxTokens > maxTokens || b.logitRows > maxLogitRows) {
            throw new EngineException("batch built for larger limits than this forward pass");
        }
        batch = b;
        kvPool = b.seqs[0].pool();
        if (kvPool.spec() != spec && !kvPool.spec().equals(spec)) {
            throw new EngineException("batch KV pool spec " + kvPool.spec() + " differs from " + spec);
        }
        kvMemory = kvPool.memory();
        int dim = c.dim();
        for (int t = 0; t < n; t++) {
            w.tokenEmbedding.readRow(b.tokens[t], x, t * dim);
        }
        computeRope(b);
        for (layer = 0; layer < c.layerCount(); layer++) {
            Weights.Layer l = w.layers[layer];
            // attention block
            for (int t = 0; t < n; t++) {
                FloatOps.rmsnorm(xb, t * dim, x, t * dim, l.attnNorm(), dim, c.rmsEps());
            }
            project3(l.wq(), q, c.qDim(), l.wk(), k, c.kvDim(), l.wv(), v, c.kvDim(), xb, dim, n);
            if (l.bq() != null) {
                addBias(q, l.bq(), n);
                addBias(k, l.bk(), n);
                addBias(v, l.bv(), n);
            }
            applyRope(q, c.headCount(), n);
            applyRope(k, c.kvHeadCount(), n);
            storeKv(n);
            attention.run(batch, kvPool, q, att, layer);
            project(l.wo(), xb, dim, att, c.qDim(), n);
            addInto(x, xb, n * dim);
            // feed-forward block
            for (int t = 0; t < n; t++) {
                FloatOps.rmsnorm(xb, t * dim, x, t * dim, l.ffnNorm(), dim, c.rmsEps());
            }
            project2(l.wGate(), hb, l.wUp(), hb2, c.ffnDim(), xb, dim, n);
            swiglu(n * c.ffnDim());
            project(l.wDown(), xb, dim, hb, c.ffnDim(), n);
            addInto(x, xb, n * dim);
        }
        int rows = b.logitRows;
        for (int r = 0; r < rows; r++) {
            int t = b.logitTokenIndex[r];
            FloatOps.rmsnorm(xb, r * dim, x, t * dim, w.outputNorm, dim, c.rmsEps());
        }
        if (rows > 0) {
            input.load(xb, 0, dim, rows, dim, w.output.inputType());
            matmul.set(w.output, logits, c.vocabSize());
            workers.run(matmul);
        }
        for (int s = 0; s < b.seqCount; s++) {
            b.seqs[s].setLength(b.seqEnd[s]);
        }
        batch = null;
    }

    // ---- projections -------------------------------------------------------------------------

    /** out(n, rows) = W · in(n, cols). */
    private void project(WeightMatrix wm, float[] out, int outWidth, float[] in, int cols, int n) {
        input.load(in, 0, cols, n, cols, wm.inputType());
        matmul.set(wm, out, outWidth);
        workers.run(matmul);
    }

    private void project2(WeightMatrix a, float[] outA, WeightMatrix b, float[] outB, int width, float[] in,
            int cols, int n) {
        if (a.inputType() != b.inputType()) {
            project(a, outA, width, in, cols, n);
            project(b, outB, width, in, cols, n);
            return;
        }
        input.load(in, 0, cols, n, cols, a.inputType());
        matmul.set(a, outA, width);
        matmul.add(b, outB, width);
        workers.run(matmul);
    }

    private void project3(WeightMatrix a, float[] outA, int widthA, WeightMatrix b, float[] outB, int widthB,
            WeightMatrix cm, float[] outC, int widthC, float[] in, int cols, int n) {
        if (a.inputType() != b.inputType() || a.inputType() != cm.inputType()) {
            project(a, outA, widthA, in, cols, n);
            project(b, outB, widthB, in, cols, n);
            project(cm, outC, widthC, in, cols, n);
            return;
        }
        input.load(in, 0, cols, n, cols, a.inputType());
        matmul.set(a, outA, widthA);
        matmul.add(b, outB, widthB);
        matmul.add(cm, outC, widthC);
        workers.run(matmul);
    }

    /** Up to three matrices over the same input, rows of each split among the threads. */
    private final class MatmulTask implements WorkerPool.Task {
        private final WeightMatrix[] ws = new WeightMatrix[3];
        private final float[][] outs = new float[3][];
        private final int[] strides = new int[3];
        private int count;

        void set(WeightMatrix wm, float[] out, int stride) {
            count = 0;
            add(wm, out, stride);
        }

        void add(WeightMatrix wm, float[] out, int stride) {
            ws[count] = wm;
            outs[count] = out;
            strides[count] = stride;
            count++;
        }

        @Override
        public void run(int part, int parts) {
            for (int i = 0; i < count; i++) {
                // Row ranges in whole tiles of 16 rows, so that row-interleaved kernels (Q4InterleavedMatrix)
                // run few rows outside whole groups; the bits do not depend on the split.
                int rows = ws[i].rows();
                int tiles = (rows + 15) / 16;
                int r0 = Math.min(rows, WorkerPool.start(tiles, part, parts) * 16);
                int r1 = Math.min(rows, WorkerPool.start(tiles, part + 1, parts) * 16);
                if (r1 > r0) {
                    ws[i].matmul(input, outs[i], 0, strides[i], r0, r1);
                }
            }
        }
    }

    // ---- elementwise -------------------------------------------------------------------------

    private void addBias(float[] a, float[] bias, int n) {
        int width = bias.length;
        for (int t = 0; t < n; t++) {
            int o = t * width;
            for (int i = 0; i < width; i++) {
                a[o + i] += bias[i];
            }
        }
    }

    private static void addInto(float[] acc, float[] delta, int len) {
        for (int i = 0; i < len; i++) {
            acc[i] += delta[i];
        }
    }

    private void swiglu(int len) {
        VectorMath.swiglu(hb, hb2, len);
    }

    // ---- rotary position embedding -----------------------------------------------------------

    private void computeRope(StepBatch b) {
        int half = c.ropeDims() / 2;
        float[] freqs = c.ropeFreqs();
        for (int t = 0; t < b.tokenCount; t++) {
            int pos = b.positions[t];
            for (int i = 0; i < half; i++) {
                double theta = pos * Math.pow(c.ropeBase(), -2.0 * i / c.ropeDims());
                if (freqs != null) {
                    theta /= freqs[i];
                }
                ropeCos[t * half + i] = (float) Math.cos(theta);
                ropeSin[t * half + i] = (float) Math.sin(theta);
            }
        }
    }

    private void applyRope(float[] a, int heads, int n) {
        int hd = c.headDim();
        int half = c.ropeDims() / 2;
        boolean neox = c.architecture().ropeStyle == Architecture.RopeStyle.NEOX;
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * hd;
                for (int i = 0; i < half; i++) {
                    int i0 = neox ? base + i : base + 2 * i;
                    int i1 = neox ? base + i + half : base + 2 * i + 1;
                    float cos = ropeCos[t * half + i];
                    float sin = ropeSin[t * half + i];
                    float x0 = a[i0];
                    float x1 = a[i1];
                    a[i0] = x0 * cos - x1 * sin;
                    a[i1] = x0 * sin + x1 * cos;
                }
            }
        }
    }

    // ---- KV cache and attention --------------------------------------------------------------

    private void storeKv(int n) {
        int hd = c.headDim();
        int bs = spec.blockSize();
        GgmlType dt = spec.dtype();
        for (int t = 0; t < n; t++) {
            KvSequence s = batch.seqs[batch.tokenSeq[t]];
            int pos = batch.positions[t];
            long blockBase = kvPool.blockOffset(s.blockTable()[pos / bs]);
            int slot = pos % bs;
            for (int h = 0; h < c.kvHeadCount(); h++) {
                int src = (t * c.kvHeadCount() + h) * hd;
                FloatOps.store(k, src, kvMemory, blockBase + spec.offsetInBlock(layer, false, h, slot), dt, hd);
                FloatOps.store(v, src, kvMemory, blockBase + spec.offsetInBlock(layer, true, h, slot), dt, hd);
            }
        }
    }
}
