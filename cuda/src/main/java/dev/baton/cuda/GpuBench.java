package dev.baton.cuda;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.model.DemoModel;
import dev.baton.engine.step.StepBatch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The GPU benchmark of {@code cuda/device-check.sh}: the products' achieved memory bandwidth on a decode-shaped
 * matrix (one token, the weights read once: memory-bound) per weight type, a prefill-shaped product's arithmetic
 * rate, then the whole backend on a benchmark model of a real model's block shapes (written here, random Q8_0
 * weights): prompt tokens/s, and decode tokens/s with the bandwidth its weight bytes per step imply. Writes one JSON
 * object to the path given (and prints it).
 *
 * <p>Usage: {@code GpuBench OUT.json [layers]}.
 */
public final class GpuBench {

    private GpuBench() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "gpu-bench.json");
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        Map<String, Object> json = new LinkedHashMap<>();
        CudaDevice.Availability a = CudaDevice.probe();
        if (!a.available()) {
            json.put("error", a.reason());
            write(out, json);
            System.exit(2);
        }
        try (CudaDevice gpu = CudaDevice.open(0)) {
            json.put("device", gpu.info().name());
            json.put("memory_gib", gpu.info().memoryBytes() / (double) (1L << 30));
            json.put("multiprocessors", gpu.info().multiprocessors());
            json.put("decode_products", decodeProducts(gpu));
            json.put("prefill_product", prefillProduct(gpu));
        }
        json.put("model", model(layers));
        write(out, json);
    }

    /** {@code y = W x} for one token on a 14,336 x 4,096 matrix (a Llama-3-8B feed-forward): GB/s of weights read. */
    static List<Map<String, Object>> decodeProducts(CudaDevice gpu) {
        int rows = 14_336;
        int cols = 4_096;
        Random r = new Random(1);
        List<Map<String, Object>> results = new ArrayList<>();
        for (GgmlType type : List.of(GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0)) {
            byte[] w = randomWeights(type, rows, cols, r);
            DeviceMemory wd = gpu.upload(w);
            DeviceMemory x = gpu.upload(random(r, cols));
            DeviceMemory y = gpu.alloc(4L * rows);
            Launch l = LaunchGeometry.gemm(type, rows, cols, 1);
            long rowBytes = w.length / rows;
            int reps = 200;
            for (int i = 0; i < 20; i++) {
                gpu.launch(l, wd, rowBytes, x, cols, y, rows, rows, cols, 1);
            }
            gpu.synchronize();
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                gpu.launch(l, wd, rowBytes, x, cols, y, rows, rows, cols, 1);
            }
            gpu.synchronize();
            double seconds = (System.nanoTime() - t0) / 1e9 / reps;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", type.name());
            m.put("rows", rows);
            m.put("cols", cols);
            m.put("microseconds", seconds * 1e6);
            m.put("gb_per_s", w.length / seconds / 1e9);
            results.add(m);
            System.out.printf(Locale.ROOT, "decode product %s %dx%d: %.1f us, %.0f GB/s%n", type, rows, cols, seconds * 1e6,
                    w.length / seconds / 1e9);
        }
        return results;
    }

    /** 512 tokens through a 4,096 x 4,096 Q8_0 matrix (a prefill chunk): TFLOP/s. */
    static Map<String, Object> prefillProduct(CudaDevice gpu) {
        int rows = 4_096;
        int cols = 4_096;
        int tokens = 512;
        Random r = new Random(2);
        byte[] w = randomWeights(GgmlType.Q8_0, rows, cols, r);
        DeviceMemory wd = gpu.upload(w);
        DeviceMemory x = gpu.upload(random(r, tokens * cols));
        DeviceMemory y = gpu.alloc(4L * rows * tokens);
        Launch l = LaunchGeometry.gemm(GgmlType.Q8_0, rows, cols, tokens);
        for (int i = 0; i < 3; i++) {
            gpu.launch(l, wd, (long) w.length / rows, x, cols, y, rows, rows, cols, tokens);
        }
        gpu.synchronize();
        int reps = 20;
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            gpu.launch(l, wd, (long) w.length / rows, x, cols, y, rows, rows, cols, tokens);
        }
        gpu.synchronize();
        double seconds = (System.nanoTime() - t0) / 1e9 / reps;
        double tflops = 2.0 * rows * cols * tokens / seconds / 1e12;
        System.out.printf(Locale.ROOT, "prefill product Q8_0 %dx%d, %d tokens: %.2f ms, %.1f TFLOP/s%n", rows, cols, tokens,
                seconds * 1e3, tflops);
        return Map.of("type", "Q8_0", "rows", rows, "cols", cols, "tokens", tokens, "milliseconds", seconds * 1e3,
                "tflops", tflops);
    }

    /**
     * The backend on a model of Llama-3.2-1B's block shapes (dim 2,048, 32 heads, 8 KV heads, feed-forward 8,192),
     * {@code layers} blocks, Q8_0: a 512-token prompt, then 128 decode steps of one sequence and of 8.
     */
    static Map<String, Object> model(int layers) throws Exception {
        DemoModel.Geometry g = new DemoModel.Geometry(2048, layers, 32, 8, 8192, 4096);
        Path file = Files.createTempFile("baton-bench-", ".gguf");
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            long t0 = System.nanoTime();
            DemoModel.write(file, g);
            m.put("geometry", g.toString());
            m.put("write_seconds", (System.nanoTime() - t0) / 1e9);
            EngineSettings s = EngineSettings.defaults(file).withThreads(4).withKvCacheBytes(1L << 30)
                    .withBatch(512, 64).withKvDtype(GgmlType.F16).withBackend("cuda", 0);
            try (Engine e = Engine.open(s)) {
                m.put("backend", e.forward().describe());
                long weightBytes = Math.round(g.blockParameters() * 34.0 / 32);
                int[] prompt = new int[512];
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = 1 + i % 500;
                }
                StepBatch b = e.newBatch();
                for (int warm = 0; warm < 2; warm++) {
                    KvSequence seq = e.newSequence();
                    long p0 = System.nanoTime();
                    b.clear();
                    b.add(seq, prompt, 0, prompt.length, true);
                    e.forward().step(b);
                    double promptSeconds = (System.nanoTime() - p0) / 1e9;
                    m.put("prompt_tokens_per_s", prompt.length / promptSeconds);
                    seq.free();
                }
                for (int streams : new int[] {1, 8}) {
                    KvSequence[] seqs = new KvSequence[streams];
                    int[] ids = new int[64 + 160];
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = 1 + i % 500;
                    }
                    for (int k = 0; k < streams; k++) {
                        seqs[k] = e.newSequence();
                        b.clear();
                        b.add(seqs[k], ids, 0, 64, true);
                        e.forward().step(b);
                    }
                    int steps = 128;
                    long d0 = 0;
                    for (int step = 0; step < steps + 16; step++) {
                        if (step == 16) {
                            d0 = System.nanoTime();
                        }
                        b.clear();
                        for (KvSequence q : seqs) {
                            b.add(q, ids, q.length(), q.length() + 1, true);
                        }
                        e.forward().step(b);
                    }
                    double perStep = (System.nanoTime() - d0) / 1e9 / steps;
                    m.put("decode_" + streams + "_tokens_per_s", streams / perStep);
                    m.put("decode_" + streams + "_weight_gb_per_s", weightBytes / perStep / 1e9);
                    System.out.printf(Locale.ROOT, "decode, %d streams: %.0f tokens/s, %.0f GB/s of weights%n", streams,
                            streams / perStep, weightBytes / perStep / 1e9);
                    for (KvSequence q : seqs) {
                        q.free();
                    }
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
        return m;
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    /** Stored weights of {@code type}: random bytes with valid, small scales (no NaN or infinity). */
    static byte[] randomWeights(GgmlType type, int rows, int cols, Random r) {
        int blocks = rows * (cols / 32);
        byte[] w;
        switch (type) {
            case F16, BF16 -> {
                w = new byte[rows * cols * 2];
                for (int i = 0; i < w.length; i += 2) {
                    short h = type == GgmlType.F16 ? Float.floatToFloat16((float) r.nextGaussian() * 0.02f)
                            : (short) (Float.floatToIntBits((float) r.nextGaussian() * 0.02f) >>> 16);
                    w[i] = (byte) h;
                    w[i + 1] = (byte) (h >> 8);
                }
            }
            case Q8_0, Q4_0 -> {
                int size = type == GgmlType.Q8_0 ? 34 : 18;
                w = new byte[blocks * size];
                r.nextBytes(w);
                short d = Float.floatToFloat16(0.001f);
                for (int i = 0; i < blocks; i++) {
                    w[i * size] = (byte) d;
                    w[i * size + 1] = (byte) (d >> 8);
                }
            }
            default -> throw new IllegalArgumentException(type.name());
        }
        return w;
    }

    static void write(Path out, Map<String, Object> json) throws Exception {
        String s = new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json);
        Files.writeString(out, s + "\n");
        System.out.println(s);
    }
}
