package dev.baton.engine;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.tensor.KernelMode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How an engine instance is built. Validated once by {@link #validate()}; immutable.
 *
 * @param model            the GGUF file
 * @param threads          compute threads of the forward pass (1..1024)
 * @param kvCacheBytes     off-heap bytes for the KV block pool (rounded down to whole blocks)
 * @param blockSize        positions per KV block (docs/design.md §4; default 16)
 * @param kvDtype          F32, F16 or Q8_0 (blocks of 32 along each head's row: the head dimension must divide)
 * @param maxBatchTokens   tokens one forward pass takes (prefill chunk budget)
 * @param maxBatchSequences sequences one forward pass takes
 * @param kernelMode       vectorized or scalar kernels
 * @param prefixCache      node-local prefix reuse (docs/design.md §6): an engine loop publishes the KV blocks
 *                         it writes under their block hashes and starts new requests from the cached
 *                         blocks of their prompt; off, every request computes its whole prompt
 * @param backend          the forward pass: {@code cpu}, or a {@link dev.baton.engine.step.BackendProvider}'s name
 *                         ({@code cuda})
 * @param device           the GPU a GPU backend uses ({@code --device N})
 */
public record EngineSettings(
        Path model,
        int threads,
        long kvCacheBytes,
        int blockSize,
        GgmlType kvDtype,
        int maxBatchTokens,
        int maxBatchSequences,
        KernelMode kernelMode,
        boolean prefixCache,
        String backend,
        int device) {

    /** The CPU's forward pass ({@link dev.baton.engine.step.ForwardPass}). */
    public static final String CPU = "cpu";

    public static final long DEFAULT_KV_CACHE_BYTES = 256L << 20;
    public static final int DEFAULT_BLOCK_SIZE = 16;
    public static final int DEFAULT_MAX_BATCH_TOKENS = 256;
    public static final int DEFAULT_MAX_BATCH_SEQUENCES = 64;

    /**
     * Defaults for {@code model}: every core, 256 MiB of F32 KV, blocks of 16, 256-token batches,
     * prefix cache on.
     */
    public static EngineSettings defaults(Path model) {
        return new EngineSettings(model, Runtime.getRuntime().availableProcessors(), DEFAULT_KV_CACHE_BYTES,
                DEFAULT_BLOCK_SIZE, GgmlType.F32, DEFAULT_MAX_BATCH_TOKENS, DEFAULT_MAX_BATCH_SEQUENCES,
                KernelMode.defaultMode(), true, CPU, 0);
    }

    /**
     * Reads {@code baton.engine} (see reference.conf). {@code model} is the file to use when the
     * config names none (the demo model); errors name the key.
     */
    public static EngineSettings from(Config root, Path defaultModel) {
        Config c = root.getConfig("baton.engine");
        try {
            String model = c.getString("model");
            int threads = c.getInt("threads");
            String kernels = c.getString("kernels").toUpperCase(Locale.ROOT);
            String dtype = c.getString("kv-dtype").toUpperCase(Locale.ROOT);
            if (!dtype.equals("F32") && !dtype.equals("F16") && !dtype.equals("Q8_0")) {
                throw new EngineException("baton.engine.kv-dtype = " + dtype + ": must be F32, F16 or Q8_0");
            }
            if (!kernels.equals("VECTOR") && !kernels.equals("SCALAR")) {
                throw new EngineException("baton.engine.kernels = " + kernels + ": must be vector or scalar");
            }
            return new EngineSettings(model.isBlank() ? defaultModel : Path.of(model),
                    threads == 0 ? Runtime.getRuntime().availableProcessors() : threads,
                    c.getBytes("kv-cache-bytes"), c.getInt("block-size"), GgmlType.valueOf(dtype),
                    c.getInt("max-batch-tokens"), c.getInt("max-batch-sequences"),
                    kernels.equals("SCALAR") ? KernelMode.SCALAR : KernelMode.defaultMode(),
                    c.getBoolean("prefix-cache"), c.getString("backend").strip().toLowerCase(Locale.ROOT),
                    c.getInt("device")).validate();
        } catch (ConfigException e) {
            throw new EngineException("configuration: " + e.getMessage(), e);
        }
    }

    public EngineSettings withModel(Path m) {
        return new EngineSettings(m, threads, kvCacheBytes, blockSize, kvDtype, maxBatchTokens, maxBatchSequences,
                kernelMode, prefixCache, backend, device);
    }

    public EngineSettings withThreads(int n) {
        return new EngineSettings(model, n, kvCacheBytes, blockSize, kvDtype, maxBatchTokens, maxBatchSequences,
                kernelMode, prefixCache, backend, device);
    }

    public EngineSettings withKvCacheBytes(long bytes) {
        return new EngineSettings(model, threads, bytes, blockSize, kvDtype, maxBatchTokens, maxBatchSequences,
                kernelMode, prefixCache, backend, device);
    }

    public EngineSettings withKvDtype(GgmlType t) {
        return new EngineSettings(model, threads, kvCacheBytes, blockSize, t, maxBatchTokens, maxBatchSequences,
                kernelMode, prefixCache, backend, device);
    }

    public EngineSettings withBatch(int tokens, int sequences) {
        return new EngineSettings(model, threads, kvCacheBytes, blockSize, kvDtype, tokens, sequences, kernelMode,
                prefixCache, backend, device);
    }

    public EngineSettings withKernelMode(KernelMode m) {
        return new EngineSettings(model, threads, kvCacheBytes, blockSize, kvDtype, maxBatchTokens,
                maxBatchSequences, m, prefixCache, backend, device);
    }

    /** The same settings with prefix caching on or off. */
    public EngineSettings withPrefixCache(boolean on) {
        return new EngineSettings(model, threads, kvCacheBytes, blockSize, kvDtype, maxBatchTokens, maxBatchSequences,
                kernelMode, on, backend, device);
    }

    /** The same settings on another backend ({@code cpu}, {@code cuda}) and GPU. */
    public EngineSettings withBackend(String name, int gpu) {
        return new EngineSettings(model, threads, kvCacheBytes, blockSize, kvDtype, maxBatchTokens, maxBatchSequences,
                kernelMode, prefixCache, name, gpu);
    }

    /** Throws {@link EngineException} naming the first field out of range. */
    public EngineSettings validate() {
        if (model == null) {
            throw new EngineException("model: a GGUF file path is required");
        }
        check(threads >= 1 && threads <= 1024, "threads", threads, "1..1024");
        check(kvCacheBytes >= 1, "kvCacheBytes", kvCacheBytes, ">= 1 block");
        check(blockSize >= 1 && blockSize <= 1024, "blockSize", blockSize, "1..1024");
        check(kvDtype == GgmlType.F32 || kvDtype == GgmlType.F16 || kvDtype == GgmlType.Q8_0, "kvDtype", kvDtype,
                "F32, F16 or Q8_0");
        check(maxBatchTokens >= 1 && maxBatchTokens <= 65536, "maxBatchTokens", maxBatchTokens, "1..65536");
        check(maxBatchSequences >= 1 && maxBatchSequences <= 4096, "maxBatchSequences", maxBatchSequences, "1..4096");
        check(backend != null && !backend.isBlank(), "backend", backend, "cpu or a backend's name, such as cuda");
        check(device >= 0, "device", device, ">= 0");
        return this;
    }

    private static void check(boolean ok, String field, Object value, String range) {
        if (!ok) {
            throw new EngineException(field + " = " + value + " is out of range (" + range + ")");
        }
    }
}
