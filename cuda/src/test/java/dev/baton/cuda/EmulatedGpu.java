package dev.baton.cuda;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufQuantizer;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A stand-in for a GPU (none exists here): device memory as heap buffers, and each kernel {@link CudaBackend}
 * launches carried out in Java to the contract written above it in {@code baton_kernels.cu} (same arguments, same
 * index arithmetic, float math in the same order where the contract fixes it). It tests the host side of the backend
 * (arguments, buffer wiring, the KV staging and the stale-block uploads) without a device; the kernels themselves are
 * {@link CudaKernelsGpuTest}'s. Every access is bounds-checked: a launch that would read or write past a buffer fails.
 */
final class EmulatedGpu implements Gpu {

    private final long memoryBytes;
    private final List<String> launched = new ArrayList<>();
    private long allocated;

    EmulatedGpu(long memoryBytes) {
        this.memoryBytes = memoryBytes;
    }

    /** Kernel names in launch order. */
    List<String> launched() {
        return launched;
    }

    @Override
    public CudaDevice.Info info() {
        return new CudaDevice.Info(0, "emulated", memoryBytes, 1, 9, 0);
    }

    @Override
    public void makeCurrent() {}

    @Override
    public DeviceMemory alloc(long bytes) {
        allocated += bytes;
        if (allocated > memoryBytes) {
            throw new IllegalStateException("emulated GPU out of memory: " + allocated + " > " + memoryBytes);
        }
        return new DeviceMemory(bytes, ByteBuffer.allocate(Math.toIntExact(Math.max(1, bytes))).order(ByteOrder.LITTLE_ENDIAN));
    }

    static ByteBuffer buf(DeviceMemory m) {
        return (ByteBuffer) m.handle();
    }

    @Override
    public void copy(DeviceMemory dst, long offset, MemorySegment src) {
        MemorySegment.copy(src, 0, MemorySegment.ofBuffer(buf(dst)), offset, src.byteSize());
    }

    @Override
    public void copy(DeviceMemory dst, int[] src, int count) {
        for (int i = 0; i < count; i++) {
            buf(dst).putInt(4 * i, src[i]);
        }
    }

    @Override
    public void copy(DeviceMemory dst, float[] src, int count) {
        for (int i = 0; i < count; i++) {
            buf(dst).putFloat(4 * i, src[i]);
        }
    }

    @Override
    public void download(float[] dst, DeviceMemory src, int count) {
        for (int i = 0; i < count; i++) {
            dst[i] = buf(src).getFloat(4 * i);
        }
    }

    @Override
    public void download(int[] dst, DeviceMemory src, int count) {
        for (int i = 0; i < count; i++) {
            dst[i] = buf(src).getInt(4 * i);
        }
    }

    @Override
    public void download(byte[] dst, DeviceMemory src, long count) {
        buf(src).get(0, dst, 0, Math.toIntExact(count));
    }

    @Override
    public void synchronize() {}

    @Override
    public void close() {}

    @Override
    public KernelCall prepare(String kernel, int argCount) {
        Object[] args = new Object[argCount];
        boolean[] given = new boolean[argCount];
        return new KernelCall() {
            private KernelCall put(int i, Object v) {
                args[i] = v;
                given[i] = true;
                return this;
            }

            @Override
            public KernelCall set(int i, DeviceMemory m) {
                return put(i, m);
            }

            @Override
            public KernelCall set(int i, int v) {
                return put(i, v);
            }

            @Override
            public KernelCall set(int i, long v) {
                return put(i, v);
            }

            @Override
            public KernelCall set(int i, float v) {
                return put(i, v);
            }

            @Override
            public KernelCall set(int i, double v) {
                return put(i, v);
            }

            @Override
            public KernelCall set(int i, byte[] struct) {
                return put(i, struct);
            }

            @Override
            public void launch(int gridX, int gridY, int gridZ, int block) {
                for (int i = 0; i < argCount; i++) {
                    if (!given[i]) {
                        throw new IllegalStateException(kernel + ": argument " + i + " was never set");
                    }
                }
                EmulatedGpu.this.launch(new Launch(kernel, gridX, gridY, gridZ, block, 0), args.clone());
            }
        };
    }

    // ---- kernels ------------------------------------------------------------------------------------

    @Override
    public void launch(Launch l, Object... a) {
        launched.add(l.kernel());
        String k = l.kernel();
        if (k.startsWith("baton_embed_")) {
            GgmlType t = type(k.substring("baton_embed_".length()));
            ByteBuffer table = buf((DeviceMemory) a[0]);
            long rowBytes = (Long) a[1];
            ByteBuffer tokens = buf((DeviceMemory) a[2]);
            ByteBuffer out = buf((DeviceMemory) a[3]);
            int dim = (Integer) a[4];
            float[] row = new float[dim];
            for (int tok = 0; tok < l.gridX(); tok++) {
                dequantize(t, table, tokens.getInt(4 * tok) * rowBytes, row, dim);
                for (int c = 0; c < dim; c++) {
                    out.putFloat(4 * (tok * dim + c), row[c]);
                }
            }
        } else if (k.equals("baton_rmsnorm")) {
            ByteBuffer x = buf((DeviceMemory) a[0]);
            ByteBuffer w = buf((DeviceMemory) a[1]);
            ByteBuffer out = buf((DeviceMemory) a[2]);
            int dim = (Integer) a[3];
            float eps = (Float) a[4];
            ByteBuffer rows = a[5] == null ? null : buf((DeviceMemory) a[5]);
            for (int r = 0; r < l.gridX(); r++) {
                int src = rows == null ? r : rows.getInt(4 * r);
                float ss = 0;
                for (int c = 0; c < dim; c++) {
                    float v = x.getFloat(4 * (src * dim + c));
                    ss = Math.fma(v, v, ss);
                }
                float scale = (float) (1 / Math.sqrt(ss / dim + eps));
                for (int c = 0; c < dim; c++) {
                    out.putFloat(4 * (r * dim + c), x.getFloat(4 * (src * dim + c)) * scale * w.getFloat(4 * c));
                }
            }
        } else if (k.startsWith("baton_gemm_")) {
            String s = k.substring("baton_gemm_".length());
            GgmlType t = type(s.substring(0, s.lastIndexOf("_t")));
            ByteBuffer w = buf((DeviceMemory) a[0]);
            long rowBytes = (Long) a[1];
            ByteBuffer x = buf((DeviceMemory) a[2]);
            int ldx = (Integer) a[3];
            ByteBuffer y = buf((DeviceMemory) a[4]);
            int ldy = (Integer) a[5];
            int rows = (Integer) a[6];
            int cols = (Integer) a[7];
            int tokens = (Integer) a[8];
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                dequantize(t, w, r * rowBytes, row, cols);
                for (int tok = 0; tok < tokens; tok++) {
                    float[] lanes = new float[32]; // lane j: columns j, j+32, ... in order; then the butterfly
                    for (int c = 0; c < cols; c++) {
                        lanes[c & 31] = Math.fma(row[c], x.getFloat(4 * (tok * ldx + c)), lanes[c & 31]);
                    }
                    for (int o = 16; o > 0; o >>= 1) {
                        float[] next = new float[32];
                        for (int j = 0; j < 32; j++) {
                            next[j] = lanes[j] + lanes[j ^ o];
                        }
                        lanes = next;
                    }
                    y.putFloat(4 * (tok * ldy + r), lanes[0]);
                }
            }
        } else if (k.equals("baton_swiglu")) {
            ByteBuffer g = buf((DeviceMemory) a[0]);
            ByteBuffer u = buf((DeviceMemory) a[1]);
            long n = (Long) a[2];
            for (int i = 0; i < n; i++) {
                float v = g.getFloat(4 * i);
                g.putFloat(4 * i, (float) (v / (1 + Math.exp(-v))) * u.getFloat(4 * i));
            }
        } else if (k.equals("baton_add")) {
            ByteBuffer x = buf((DeviceMemory) a[0]);
            ByteBuffer d = buf((DeviceMemory) a[1]);
            long n = (Long) a[2];
            for (int i = 0; i < n; i++) {
                x.putFloat(4 * i, x.getFloat(4 * i) + d.getFloat(4 * i));
            }
        } else if (k.equals("baton_add_bias")) {
            ByteBuffer x = buf((DeviceMemory) a[0]);
            ByteBuffer b = buf((DeviceMemory) a[1]);
            int rows = (Integer) a[2];
            int width = (Integer) a[3];
            for (int i = 0; i < rows * width; i++) {
                x.putFloat(4 * i, x.getFloat(4 * i) + b.getFloat(4 * (i % width)));
            }
        } else if (k.startsWith("baton_rope_store_")) {
            ropeStore(l, k.endsWith("f16"), a);
        } else if (k.startsWith("baton_attention_partial_")) {
            attention(l, k.endsWith("f16"), a);
        } else if (k.equals("baton_attention_merge")) {
            merge(l, a);
        } else {
            throw new UnsupportedOperationException("kernel " + k + " is not emulated");
        }
    }

    static GgmlType type(String suffix) {
        return switch (suffix) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            case "bf16" -> GgmlType.BF16;
            case "q8_0" -> GgmlType.Q8_0;
            case "q4_0" -> GgmlType.Q4_0;
            case "q4_k" -> GgmlType.Q4_K;
            case "q6_k" -> GgmlType.Q6_K;
            default -> throw new IllegalArgumentException(suffix);
        };
    }

    static void dequantize(GgmlType t, ByteBuffer b, long offset, float[] out, int count) {
        MemorySegment all = MemorySegment.ofBuffer(b);
        if (GgufQuantizer.canEncode(t)) {
            GgufQuantizer.dequantize(t, all, offset, out, 0, count);
        } else { // the K-quants: the engine's bit-exact decoding of one row
            MemorySegment row = all.asSlice(offset, t.byteSize(count));
            dev.baton.engine.tensor.WeightMatrix.of(new dev.baton.engine.gguf.GgufTensorInfo("row", new long[] {count, 1},
                    t, 0, row), dev.baton.engine.tensor.KernelMode.SCALAR).readRow(0, out, 0);
        }
    }

    /** KvGeometry: long blockBytes, layerBytes, headRunBytes; int rowBytes, blockSize, maxBlocks. */
    record Geo(long blockBytes, long layerBytes, long headRunBytes, int rowBytes, int blockSize, int maxBlocks) {
        static Geo of(byte[] b) {
            ByteBuffer g = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            return new Geo(g.getLong(0), g.getLong(8), g.getLong(16), g.getInt(24), g.getInt(28), g.getInt(32));
        }

        long offset(int block, int layer, boolean value, int kvHeads, int head, int slot) {
            return block * blockBytes + layer * layerBytes + ((value ? kvHeads : 0) + head) * headRunBytes
                    + (long) slot * rowBytes;
        }
    }

    static void store(ByteBuffer b, long rowOffset, int d, float v, boolean f16) {
        if (f16) {
            b.putShort((int) (rowOffset + 2L * d), Float.floatToFloat16(v));
        } else {
            b.putFloat((int) (rowOffset + 4L * d), v);
        }
    }

    static float load(ByteBuffer b, long rowOffset, int d, boolean f16) {
        return f16 ? Float.float16ToFloat(b.getShort((int) (rowOffset + 2L * d))) : b.getFloat((int) (rowOffset + 4L * d));
    }

    private static void ropeStore(Launch l, boolean f16, Object[] a) {
        ByteBuffer q = buf((DeviceMemory) a[0]);
        ByteBuffer k = buf((DeviceMemory) a[1]);
        ByteBuffer v = buf((DeviceMemory) a[2]);
        ByteBuffer positions = buf((DeviceMemory) a[3]);
        ByteBuffer tokenSeq = buf((DeviceMemory) a[4]);
        ByteBuffer tables = buf((DeviceMemory) a[5]);
        ByteBuffer kv = buf((DeviceMemory) a[6]);
        Geo geo = Geo.of((byte[]) a[7]);
        int layer = (Integer) a[8];
        int heads = (Integer) a[9];
        int kvHeads = (Integer) a[10];
        int hd = (Integer) a[11];
        int ropeDims = (Integer) a[12];
        double base = (Double) a[13];
        ByteBuffer freqs = a[14] == null ? null : buf((DeviceMemory) a[14]);
        boolean neox = (Integer) a[15] != 0;
        ByteBuffer staging = a[16] == null ? null : buf((DeviceMemory) a[16]);
        int layers = (Integer) a[17];
        if (l.gridY() != heads + kvHeads) {
            throw new IllegalArgumentException("rope grid " + l);
        }
        int half = ropeDims / 2;
        for (int t = 0; t < l.gridX(); t++) {
            int pos = positions.getInt(4 * t);
            for (int h = 0; h < heads + kvHeads; h++) {
                boolean isK = h >= heads;
                int head = isK ? h - heads : h;
                ByteBuffer x = isK ? k : q;
                int base0 = ((t * (isK ? kvHeads : heads)) + head) * hd;
                for (int i = 0; i < half; i++) {
                    double theta = pos * Math.pow(base, -2.0 * i / ropeDims);
                    if (freqs != null) {
                        theta /= freqs.getFloat(4 * i);
                    }
                    float c = (float) Math.cos(theta);
                    float s = (float) Math.sin(theta);
                    int i0 = base0 + (neox ? i : 2 * i);
                    int i1 = base0 + (neox ? i + half : 2 * i + 1);
                    float x0 = x.getFloat(4 * i0);
                    float x1 = x.getFloat(4 * i1);
                    x.putFloat(4 * i0, x0 * c - x1 * s);
                    x.putFloat(4 * i1, x0 * s + x1 * c);
                }
                if (!isK) {
                    continue;
                }
                int seq = tokenSeq.getInt(4 * t);
                int block = tables.getInt(4 * (seq * geo.maxBlocks() + pos / geo.blockSize()));
                int slot = pos % geo.blockSize();
                long ko = geo.offset(block, layer, false, kvHeads, head, slot);
                long vo = geo.offset(block, layer, true, kvHeads, head, slot);
                long ks = ((((long) t * layers + layer) * 2) * kvHeads + head) * geo.rowBytes();
                long vs = ((((long) t * layers + layer) * 2 + 1) * kvHeads + head) * geo.rowBytes();
                for (int d = 0; d < hd; d++) {
                    float kd = k.getFloat(4 * (base0 + d));
                    float vd = v.getFloat(4 * (((t * kvHeads) + head) * hd + d));
                    store(kv, ko, d, kd, f16);
                    store(kv, vo, d, vd, f16);
                    if (staging != null) {
                        store(staging, ks, d, kd, f16);
                        store(staging, vs, d, vd, f16);
                    }
                }
            }
        }
    }

    private static void attention(Launch l, boolean f16, Object[] a) {
        ByteBuffer q = buf((DeviceMemory) a[0]);
        ByteBuffer kv = buf((DeviceMemory) a[1]);
        ByteBuffer positions = buf((DeviceMemory) a[2]);
        ByteBuffer tokenSeq = buf((DeviceMemory) a[3]);
        ByteBuffer tables = buf((DeviceMemory) a[4]);
        Geo geo = Geo.of((byte[]) a[5]);
        int layer = (Integer) a[6];
        int heads = (Integer) a[7];
        int kvHeads = (Integer) a[8];
        int hd = (Integer) a[9];
        float scale = (Float) a[10];
        int maxChunks = (Integer) a[11];
        ByteBuffer partial = buf((DeviceMemory) a[12]);
        if (l.gridZ() != maxChunks) {
            throw new IllegalArgumentException("attention grid " + l + " for " + maxChunks + " chunks");
        }
        for (int t = 0; t < l.gridX(); t++) {
            int length = positions.getInt(4 * t) + 1;
            int seq = tokenSeq.getInt(4 * t);
            for (int h = 0; h < heads; h++) {
                int kh = h / (heads / kvHeads);
                for (int chunk = 0; chunk < maxChunks; chunk++) {
                    int p0 = chunk * SplitK.CHUNK;
                    if (p0 >= length) {
                        continue;
                    }
                    int p1 = Math.min(length, p0 + SplitK.CHUNK);
                    float[] s = new float[p1 - p0];
                    float m = Float.NEGATIVE_INFINITY;
                    for (int p = p0; p < p1; p++) {
                        int block = tables.getInt(4 * (seq * geo.maxBlocks() + p / geo.blockSize()));
                        long ko = geo.offset(block, layer, false, kvHeads, kh, p % geo.blockSize());
                        float dot = 0;
                        for (int d = 0; d < hd; d++) {
                            dot = Math.fma(q.getFloat(4 * ((t * heads + h) * hd + d)) * scale, load(kv, ko, d, f16), dot);
                        }
                        s[p - p0] = dot;
                        m = Math.max(m, dot);
                    }
                    float sum = 0;
                    for (int i = 0; i < s.length; i++) {
                        s[i] = (float) Math.exp(s[i] - m);
                        sum += s[i];
                    }
                    int out = ((t * heads + h) * maxChunks + chunk) * (hd + 2);
                    for (int d = 0; d < hd; d++) {
                        float acc = 0;
                        for (int p = p0; p < p1; p++) {
                            int block = tables.getInt(4 * (seq * geo.maxBlocks() + p / geo.blockSize()));
                            long vo = geo.offset(block, layer, true, kvHeads, kh, p % geo.blockSize());
                            acc = Math.fma(s[p - p0], load(kv, vo, d, f16), acc);
                        }
                        partial.putFloat(4 * (out + d), acc);
                    }
                    partial.putFloat(4 * (out + hd), m);
                    partial.putFloat(4 * (out + hd + 1), sum);
                }
            }
        }
    }

    private static void merge(Launch l, Object[] a) {
        ByteBuffer partial = buf((DeviceMemory) a[0]);
        ByteBuffer positions = buf((DeviceMemory) a[1]);
        int heads = (Integer) a[2];
        int hd = (Integer) a[3];
        int maxChunks = (Integer) a[4];
        ByteBuffer out = buf((DeviceMemory) a[5]);
        for (int t = 0; t < l.gridX(); t++) {
            int chunks = SplitK.chunks(positions.getInt(4 * t));
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * maxChunks * (hd + 2);
                float m = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < chunks; c++) {
                    m = Math.max(m, partial.getFloat(4 * (base + c * (hd + 2) + hd)));
                }
                float sum = 0;
                for (int c = 0; c < chunks; c++) {
                    int p = base + c * (hd + 2);
                    sum = Math.fma((float) Math.exp(partial.getFloat(4 * (p + hd)) - m), partial.getFloat(4 * (p + hd + 1)), sum);
                }
                for (int d = 0; d < hd; d++) {
                    float acc = 0;
                    for (int c = 0; c < chunks; c++) {
                        int p = base + c * (hd + 2);
                        acc = Math.fma((float) Math.exp(partial.getFloat(4 * (p + hd)) - m), partial.getFloat(4 * (p + d)), acc);
                    }
                    out.putFloat(4 * ((t * heads + h) * hd + d), acc / sum);
                }
            }
        }
    }
}
