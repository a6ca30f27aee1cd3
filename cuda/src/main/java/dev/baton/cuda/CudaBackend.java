package dev.baton.cuda;

import dev.baton.engine.EngineException;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufQuantizer;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.model.Architecture;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.step.ForwardBackend;
import dev.baton.engine.step.StepBatch;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The forward pass on a GPU ({@code baton.engine.backend = cuda}): the same step API, batching and prefix cache as
 * the CPU's {@link dev.baton.engine.step.ForwardPass}, computed by the kernels of {@code baton_kernels.cu}.
 *
 * <p>Memory ({@link DeviceMemoryPlan}): every tensor uploaded once, as stored in the file; activations sized for the
 * batch limits; a device KV pool of as many blocks as the engine's host pool, in the same layout. The host pool stays
 * complete: each step's K and V rows are also written, packed, to a staging buffer that comes back in one copy and
 * lands in the host pool's blocks, so KV export, the host tier and KV transfer read host memory as they do on the
 * CPU. Blocks written on the host (an import, the host tier) reach the device before a step reads them: a block whose
 * allocation {@link KvBlockPool#generation generation} moved since the device last held it is uploaded whole.
 *
 * <p>Not thread-safe: one engine loop. Determinism: as the kernels' (docs/design.md §4 "GPU kernels").
 */
public final class CudaBackend implements ForwardBackend {

    /** One weight matrix on the device, as stored: {@code rows} rows of {@code rowBytes}. */
    private record Matrix(DeviceMemory data, GgmlType type, int rows, int cols, long rowBytes) {}

    private record Layer(DeviceMemory attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, DeviceMemory bq,
            DeviceMemory bk, DeviceMemory bv, DeviceMemory ffnNorm, Matrix gate, Matrix up, Matrix down) {}

    /** A product's three prepared launches (tiles of 1, 4 and 8 tokens; the same bits per output whichever runs). */
    private final class Product {
        private final Matrix m;
        private final KernelCall[] byTile = new KernelCall[3];

        Product(Matrix m, DeviceMemory in, int ldx, DeviceMemory out) {
            this.m = m;
            int[] tiles = {1, 4, 8};
            for (int i = 0; i < 3; i++) {
                byTile[i] = gpu.prepare(LaunchGeometry.gemmKernel(m.type(), tiles[i]), 9).set(0, m.data())
                        .set(1, m.rowBytes()).set(2, in).set(3, ldx).set(4, out).set(5, m.rows()).set(6, m.rows())
                        .set(7, m.cols());
            }
        }

        void run(int n) {
            int tm = LaunchGeometry.gemmTileTokens(n);
            KernelCall call = byTile[tm == 1 ? 0 : tm == 4 ? 1 : 2];
            call.set(8, n).launch(LaunchGeometry.gemmBlocks(m.rows()), (n + tm - 1) / tm, 1,
                    LaunchGeometry.GEMM_WARPS * 32);
        }
    }

    /** One transformer block's launches, in step order. */
    private record LayerCalls(KernelCall attnNorm, Product q, Product k, Product v, KernelCall biasQ, KernelCall biasK,
            KernelCall biasV, KernelCall rope, KernelCall attention, KernelCall merge, Product o, KernelCall addAttention,
            KernelCall ffnNorm, Product gate, Product up, KernelCall swiglu, Product down, KernelCall addFfn) {}

    private final ModelConfig c;
    private final KvBlockPool pool;
    private final KvCacheSpec spec;
    private final int maxTokens;
    private final int maxSequences;
    private final int maxLogitRows;
    private final Gpu gpu;
    private final DeviceMemoryPlan plan;
    private final Matrix embedding;
    private final Layer[] layers;
    private final DeviceMemory outputNorm;
    private final Matrix output;
    private final DeviceMemory ropeFreqs;
    private final byte[] kvGeometry;

    // device buffers
    private final DeviceMemory x;
    private final DeviceMemory xb;
    private final DeviceMemory q;
    private final DeviceMemory k;
    private final DeviceMemory v;
    private final DeviceMemory att;
    private final DeviceMemory hb;
    private final DeviceMemory hb2;
    private final DeviceMemory logitsDevice;
    private final DeviceMemory partial;
    private final DeviceMemory tokens;
    private final DeviceMemory positions;
    private final DeviceMemory tokenSeq;
    private final DeviceMemory blockTables;
    private final DeviceMemory logitRows;
    private final DeviceMemory kv;
    private final DeviceMemory staging;

    // the step's launches, prepared once: per step only the sizes that follow the batch are set
    private final KernelCall embed;
    private final LayerCalls[] layerCalls;
    private final KernelCall finalNorm;
    private final Product outputProduct;

    // host side
    private final MemorySegment stagingSegment;
    private final DeviceBatch batch;
    private final float[] logits;
    private final byte[] stagingHost;
    private final int[] deviceGeneration; // per block: the pool generation the device copy belongs to, or -1
    private final int stagingRowsPerToken;

    /** Opens GPU {@code device} for the model in {@code file}, with a device KV pool as large as {@code pool}. */
    public CudaBackend(ModelConfig config, GgufFile file, KvBlockPool pool, int maxTokens, int maxSequences, int device) {
        this(config, file, pool, maxTokens, maxSequences, CudaDevice.open(device));
    }

    /** On {@code d} (closed with the backend, or at once if the backend cannot be built). */
    CudaBackend(ModelConfig config, GgufFile file, KvBlockPool pool, int maxTokens, int maxSequences, Gpu d) {
        this.c = config;
        this.pool = pool;
        this.spec = pool.spec();
        this.maxTokens = maxTokens;
        this.maxSequences = maxSequences;
        this.maxLogitRows = maxSequences; // as the CPU's pass in an Engine
        this.gpu = d;
        try {
            LaunchGeometry.kvSuffix(spec.dtype());
            if (c.dim() % 32 != 0 || c.qDim() % 32 != 0 || c.ffnDim() % 32 != 0) {
                throw new CudaUnavailableException("the GPU products take widths that are multiples of 32: dim " + c.dim()
                        + ", attention " + c.qDim() + ", feed-forward " + c.ffnDim());
            }
            this.plan = DeviceMemoryPlan.of(c, file.tensors().values(), spec,
                    new DeviceMemoryPlan.Limits(maxTokens, maxSequences, maxSequences), d.info().memoryBytes(),
                    (long) pool.blockCount() * spec.blockBytes(), 0.95, DeviceMemoryPlan.DEFAULT_RESERVE);
            embedding = matrix(file, "token_embd.weight", c.vocabSize(), c.dim());
            layers = new Layer[c.layerCount()];
            boolean bias = c.architecture().qkvBias;
            for (int i = 0; i < layers.length; i++) {
                String p = "blk." + i + ".";
                layers[i] = new Layer(vector(file, p + "attn_norm.weight"),
                        matrix(file, p + "attn_q.weight", c.qDim(), c.dim()),
                        matrix(file, p + "attn_k.weight", c.kvDim(), c.dim()),
                        matrix(file, p + "attn_v.weight", c.kvDim(), c.dim()),
                        matrix(file, p + "attn_output.weight", c.dim(), c.qDim()),
                        bias ? vector(file, p + "attn_q.bias") : null, bias ? vector(file, p + "attn_k.bias") : null,
                        bias ? vector(file, p + "attn_v.bias") : null, vector(file, p + "ffn_norm.weight"),
                        matrix(file, p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                        matrix(file, p + "ffn_up.weight", c.ffnDim(), c.dim()),
                        matrix(file, p + "ffn_down.weight", c.dim(), c.ffnDim()));
            }
            outputNorm = vector(file, "output_norm.weight");
            output = c.tiedEmbeddings() ? embedding : matrix(file, "output.weight", c.vocabSize(), c.dim());
            ropeFreqs = c.ropeFreqs() == null ? null : gpu.upload(c.ropeFreqs());

            int maxBlocks = (c.contextLength() + spec.blockSize() - 1) / spec.blockSize();
            kvGeometry = KvGeometry.of(spec, maxBlocks);
            long t = maxTokens;
            x = gpu.alloc(4 * t * c.dim());
            xb = gpu.alloc(4 * t * Math.max(c.dim(), c.qDim()));
            q = gpu.alloc(4 * t * c.qDim());
            k = gpu.alloc(4 * t * c.kvDim());
            v = gpu.alloc(4 * t * c.kvDim());
            att = gpu.alloc(4 * t * c.qDim());
            hb = gpu.alloc(4 * t * c.ffnDim());
            hb2 = gpu.alloc(4 * t * c.ffnDim());
            logitsDevice = gpu.alloc(4L * maxLogitRows * c.vocabSize());
            partial = gpu.alloc(4 * SplitK.workspaceFloats(maxTokens, c.headCount(), c.headDim(),
                    SplitK.chunks(c.contextLength() - 1)));
            tokens = gpu.alloc(4 * t);
            positions = gpu.alloc(4 * t);
            tokenSeq = gpu.alloc(4 * t);
            blockTables = gpu.alloc(4L * maxSequences * maxBlocks);
            logitRows = gpu.alloc(4L * maxLogitRows);
            kv = gpu.alloc((long) pool.blockCount() * spec.blockBytes());
            stagingRowsPerToken = c.layerCount() * 2 * c.kvHeadCount();
            staging = gpu.alloc(t * stagingRowsPerToken * spec.rowBytes());
            batch = new DeviceBatch(maxTokens, maxSequences, maxLogitRows, c.contextLength(), spec.blockSize());
            logits = new float[Math.multiplyExact(maxLogitRows, c.vocabSize())];
            stagingHost = new byte[Math.toIntExact(t * stagingRowsPerToken * spec.rowBytes())];
            deviceGeneration = new int[pool.blockCount()];
            Arrays.fill(deviceGeneration, -1);
            stagingSegment = MemorySegment.ofArray(stagingHost);

            int dim = c.dim();
            boolean neox = c.architecture().ropeStyle == Architecture.RopeStyle.NEOX;
            embed = gpu.prepare(LaunchGeometry.embed(embedding.type(), 1).kernel(), 5).set(0, embedding.data())
                    .set(1, embedding.rowBytes()).set(2, tokens).set(3, x).set(4, dim);
            layerCalls = new LayerCalls[layers.length];
            for (int i = 0; i < layers.length; i++) {
                Layer l = layers[i];
                layerCalls[i] = new LayerCalls(norm(l.attnNorm(), null),
                        new Product(l.wq(), xb, dim, q), new Product(l.wk(), xb, dim, k), new Product(l.wv(), xb, dim, v),
                        l.bq() == null ? null : bias(q, l.bq(), c.qDim()),
                        l.bk() == null ? null : bias(k, l.bk(), c.kvDim()),
                        l.bv() == null ? null : bias(v, l.bv(), c.kvDim()),
                        gpu.prepare(LaunchGeometry.ropeStore(spec.dtype(), 1, c.headCount(), c.kvHeadCount(), c.headDim())
                                .kernel(), 18).set(0, q).set(1, k).set(2, v).set(3, positions).set(4, tokenSeq)
                                .set(5, blockTables).set(6, kv).set(7, kvGeometry).set(8, i).set(9, c.headCount())
                                .set(10, c.kvHeadCount()).set(11, c.headDim()).set(12, c.ropeDims())
                                .set(13, (double) c.ropeBase()).set(14, ropeFreqs).set(15, neox ? 1 : 0).set(16, staging)
                                .set(17, c.layerCount()),
                        gpu.prepare(LaunchGeometry.attention(spec.dtype(), 1, c.headCount(), c.headDim(), 1).kernel(), 13)
                                .set(0, q).set(1, kv).set(2, positions).set(3, tokenSeq).set(4, blockTables)
                                .set(5, kvGeometry).set(6, i).set(7, c.headCount()).set(8, c.kvHeadCount())
                                .set(9, c.headDim()).set(10, (float) (1.0 / Math.sqrt(c.headDim()))).set(12, partial),
                        gpu.prepare("baton_attention_merge", 6).set(0, partial).set(1, positions).set(2, c.headCount())
                                .set(3, c.headDim()).set(5, att),
                        new Product(l.wo(), att, c.qDim(), xb), add(x, xb), norm(l.ffnNorm(), null),
                        new Product(l.gate(), xb, dim, hb), new Product(l.up(), xb, dim, hb2),
                        gpu.prepare("baton_swiglu", 3).set(0, hb).set(1, hb2),
                        new Product(l.down(), hb, c.ffnDim(), xb), add(x, xb));
            }
            finalNorm = norm(outputNorm, logitRows);
            outputProduct = new Product(output, xb, dim, logitsDevice);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private Matrix matrix(GgufFile file, String name, int rows, int cols) {
        GgufTensorInfo t = file.tensor(name);
        if (t.dims().length != 2 || t.cols() != cols || t.rows() != rows) {
            throw new EngineException(file.path() + ": tensor '" + name + "' has shape " + Arrays.toString(t.dims())
                    + ", expected [" + cols + ", " + rows + "]");
        }
        LaunchGeometry.weightSuffix(t.type());
        return new Matrix(gpu.upload(t.data()), t.type(), rows, cols, t.byteSize() / rows);
    }

    /** A 1-D tensor (norm, bias) as F32 on the device. */
    private DeviceMemory vector(GgufFile file, String name) {
        return gpu.upload(GgufQuantizer.dequantize(file.tensor(name)));
    }

    private KernelCall norm(DeviceMemory weight, DeviceMemory rows) {
        return gpu.prepare("baton_rmsnorm", 6).set(0, x).set(1, weight).set(2, xb).set(3, c.dim()).set(4, c.rmsEps())
                .set(5, rows);
    }

    private KernelCall bias(DeviceMemory a, DeviceMemory bias, int width) {
        return gpu.prepare("baton_add_bias", 4).set(0, a).set(1, bias).set(3, width);
    }

    private KernelCall add(DeviceMemory a, DeviceMemory b) {
        return gpu.prepare("baton_add", 3).set(0, a).set(1, b);
    }

    /** The plan the backend's memory follows. */
    public DeviceMemoryPlan plan() {
        return plan;
    }

    @Override
    public StepBatch newBatch(int sequences) {
        if (sequences > maxSequences) {
            throw new EngineException("a batch of " + sequences + " sequences on a GPU pass built for " + maxSequences);
        }
        return new StepBatch(maxTokens, sequences, maxLogitRows, c.vocabSize(), c.contextLength());
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public float[] logits() {
        return logits;
    }

    @Override
    public String describe() {
        CudaDevice.Info i = gpu.info();
        return "cuda (GPU " + i.ordinal() + " " + i.name() + ", " + i.multiprocessors() + " SMs, compute " + i.major()
                + "." + i.minor() + "; " + plan.summary() + ")";
    }

    @Override
    public void step(StepBatch b) {
        int n = b.tokenCount();
        if (n == 0) {
            return;
        }
        if (b.sequence(0).pool() != pool) {
            throw new EngineException("the batch's sequences are in another KV pool than this backend's");
        }
        gpu.makeCurrent();
        batch.pack(b);
        int seqs = batch.sequenceCount();
        int rows = batch.logitRowCount();
        uploadStaleBlocks(b);
        gpu.copy(tokens, batch.tokens, n);
        gpu.copy(positions, batch.positions, n);
        gpu.copy(tokenSeq, batch.tokenSeq, n);
        gpu.copy(blockTables, batch.blockTables, seqs * batch.maxBlocks());
        gpu.copy(logitRows, batch.logitRows, rows);

        int dim = c.dim();
        int t256 = LaunchGeometry.NORM_THREADS;
        int t128 = LaunchGeometry.ATTENTION_THREADS;
        int te = LaunchGeometry.ELEMENTWISE_THREADS;
        int chunks = batch.maxChunks();
        long residual = (long) n * dim;
        long ffn = (long) n * c.ffnDim();
        embed.launch(n, 1, 1, t256);
        for (LayerCalls l : layerCalls) {
            l.attnNorm().launch(n, 1, 1, t256);
            l.q().run(n);
            l.k().run(n);
            l.v().run(n);
            if (l.biasQ() != null) {
                l.biasQ().set(2, n).launch(LaunchGeometry.elementwiseBlocks((long) n * c.qDim()), 1, 1, te);
                l.biasK().set(2, n).launch(LaunchGeometry.elementwiseBlocks((long) n * c.kvDim()), 1, 1, te);
                l.biasV().set(2, n).launch(LaunchGeometry.elementwiseBlocks((long) n * c.kvDim()), 1, 1, te);
            }
            l.rope().launch(n, c.headCount() + c.kvHeadCount(), 1, t128);
            l.attention().set(11, chunks).launch(n, c.headCount(), chunks, t128);
            l.merge().set(4, chunks).launch(n, c.headCount(), 1, t128);
            l.o().run(n);
            l.addAttention().set(2, residual).launch(LaunchGeometry.elementwiseBlocks(residual), 1, 1, te);
            l.ffnNorm().launch(n, 1, 1, t256);
            l.gate().run(n);
            l.up().run(n);
            l.swiglu().set(2, ffn).launch(LaunchGeometry.elementwiseBlocks(ffn), 1, 1, te);
            l.down().run(n);
            l.addFfn().set(2, residual).launch(LaunchGeometry.elementwiseBlocks(residual), 1, 1, te);
        }
        if (rows > 0) {
            finalNorm.launch(rows, 1, 1, t256);
            outputProduct.run(rows);
            gpu.download(logits, logitsDevice, rows * c.vocabSize());
        }
        storeRowsOnHost(n);
        for (int s = 0; s < seqs; s++) {
            b.sequence(s).setLength(b.sequenceEnd(s));
        }
    }

    /**
     * Uploads every block the batch's tokens attend to that holds computed positions the device has not seen: the
     * block was allocated again since the device last held it (an import, the host tier, a prefix from another
     * process wrote its host bytes).
     */
    private void uploadStaleBlocks(StepBatch b) {
        int bs = spec.blockSize();
        for (int s = 0; s < b.sequenceCount(); s++) {
            KvSequence seq = b.sequence(s);
            int computedBlocks = (seq.length() + bs - 1) / bs;
            int[] table = seq.blockTable();
            for (int i = 0; i < computedBlocks; i++) {
                int block = table[i];
                if (deviceGeneration[block] != pool.generation(block)) {
                    gpu.copy(kv, pool.blockOffset(block), pool.block(block));
                    deviceGeneration[block] = pool.generation(block);
                }
            }
        }
    }

    /** Copies the step's K and V rows back in one transfer and writes them into the host pool's blocks. */
    private void storeRowsOnHost(int n) {
        int rowBytes = spec.rowBytes();
        gpu.download(stagingHost, staging, (long) n * stagingRowsPerToken * rowBytes);
        MemorySegment src = stagingSegment;
        MemorySegment dst = pool.memory();
        int bs = spec.blockSize();
        int maxBlocks = batch.maxBlocks();
        for (int t = 0; t < n; t++) {
            int pos = batch.position(t);
            int block = batch.blockTables[batch.tokenSequence(t) * maxBlocks + pos / bs];
            long base = pool.blockOffset(block);
            int slot = pos % bs;
            long row = (long) t * stagingRowsPerToken;
            for (int layer = 0; layer < c.layerCount(); layer++) {
                for (int half = 0; half < 2; half++) {
                    for (int h = 0; h < c.kvHeadCount(); h++, row++) {
                        MemorySegment.copy(src, row * rowBytes, dst, base + spec.offsetInBlock(layer, half == 1, h, slot),
                                rowBytes);
                    }
                }
            }
            deviceGeneration[block] = pool.generation(block);
        }
    }

    @Override
    public void close() {
        gpu.close();
    }
}
