package dev.baton.cuda;

import dev.baton.engine.gguf.GgmlType;

/**
 * How each kernel of {@code baton_kernels.cu} is launched: its name for a weight or KV type, its grid and
 * block. Block sizes are fixed per kernel: the in-block reductions (norms, softmax) then sum in one order
 * whatever the batch, which the determinism contract needs (docs/design.md §4).
 */
public final class LaunchGeometry {

    /** Warps per block of the matrix products, and weight rows per warp (GEMM_TN in the kernel). */
    public static final int GEMM_WARPS = 4;
    public static final int GEMM_ROWS_PER_WARP = 8;
    /** Threads of the attention, RoPE and merge blocks. */
    public static final int ATTENTION_THREADS = 128;
    public static final int NORM_THREADS = 256;
    public static final int ROW_THREADS = 1024;
    public static final int ELEMENTWISE_THREADS = 256;
    /** The largest head the attention kernel holds in shared memory (BATON_MAX_HEAD_DIM). */
    public static final int MAX_HEAD_DIM = 256;

    private LaunchGeometry() {}

    /** The suffix of a weight type in kernel names ({@code q8_0}), for the types the kernels read. */
    public static String weightSuffix(GgmlType type) {
        return switch (type) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
            case Q8_0 -> "q8_0";
            case Q4_0 -> "q4_0";
            case Q4_K -> "q4_k";
            case Q6_K -> "q6_k";
            default -> throw new CudaUnavailableException("the GPU backend has no kernels for " + type + " weights yet"
                    + " (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K)");
        };
    }

    /** The suffix of a KV cache type in kernel names. */
    public static String kvSuffix(GgmlType type) {
        return switch (type) {
            case F32 -> "f32";
            case F16 -> "f16";
            default -> throw new CudaUnavailableException("the GPU backend keeps KV as F32 or F16, not " + type);
        };
    }

    /** Tokens per warp tile of a product over {@code tokens} tokens: 1 (decode), 4, or 8 (prefill). */
    public static int gemmTileTokens(int tokens) {
        return tokens <= 1 ? 1 : tokens <= 4 ? 4 : 8;
    }

    /** The product kernel for {@code type} and a tile of {@code tileTokens} tokens ({@link #gemmTileTokens}). */
    public static String gemmKernel(GgmlType type, int tileTokens) {
        return "baton_gemm_" + weightSuffix(type) + "_t" + tileTokens;
    }

    /** Blocks along the rows of a product. */
    public static int gemmBlocks(int rows) {
        return ceil(rows, GEMM_WARPS * GEMM_ROWS_PER_WARP);
    }

    /** Blocks of a grid-stride elementwise kernel over {@code n} values. */
    public static int elementwiseBlocks(long n) {
        return (int) Math.max(1, Math.min(ceil(n, ELEMENTWISE_THREADS), 132L * 32));
    }

    /** {@code Y(tokens, rows) = W(rows, cols) X(tokens, cols)}; {@code cols} a multiple of 32. */
    public static Launch gemm(GgmlType type, int rows, int cols, int tokens) {
        if (cols % type.blockSize != 0 || cols % 32 != 0) {
            throw new IllegalArgumentException("a product over " + cols + " columns of " + type
                    + " (the kernels take whole blocks and multiples of 32)");
        }
        int tm = gemmTileTokens(tokens);
        return new Launch(gemmKernel(type, tm), gemmBlocks(rows), ceil(tokens, tm), 1, GEMM_WARPS * 32, 0);
    }

    public static Launch embed(GgmlType type, int tokens) {
        return new Launch("baton_embed_" + weightSuffix(type), tokens, 1, 1, NORM_THREADS, 0);
    }

    public static Launch rmsnorm(int rows) {
        return new Launch("baton_rmsnorm", rows, 1, 1, NORM_THREADS, 0);
    }

    /** Grid-stride elementwise kernels (swiglu, add, add_bias) over {@code n} values. */
    public static Launch elementwise(String kernel, long n) {
        return new Launch(kernel, elementwiseBlocks(n), 1, 1, ELEMENTWISE_THREADS, 0);
    }

    /** RoPE of the tokens' query and key heads fused with the KV write: one block per (token, head). */
    public static Launch ropeStore(GgmlType kvType, int tokens, int heads, int kvHeads, int headDim) {
        checkHead(headDim);
        return new Launch("baton_rope_store_" + kvSuffix(kvType), tokens, heads + kvHeads, 1, ATTENTION_THREADS, 0);
    }

    /** Split-K attention: one block per (token, head, chunk of {@link SplitK#CHUNK} positions). */
    public static Launch attention(GgmlType kvType, int tokens, int heads, int headDim, int maxChunks) {
        checkHead(headDim);
        return new Launch("baton_attention_partial_" + kvSuffix(kvType), tokens, heads, maxChunks, ATTENTION_THREADS, 0);
    }

    public static Launch attentionMerge(int tokens, int heads) {
        return new Launch("baton_attention_merge", tokens, heads, 1, ATTENTION_THREADS, 0);
    }

    /** argmax, softmax and sample: one block of {@value #ROW_THREADS} threads per logits row. */
    public static Launch rows(String kernel, int rows) {
        return new Launch(kernel, rows, 1, 1, ROW_THREADS, 0);
    }

    private static void checkHead(int headDim) {
        if (headDim > MAX_HEAD_DIM || headDim % 2 != 0) {
            throw new CudaUnavailableException("the GPU attention takes even heads of at most " + MAX_HEAD_DIM
                    + " elements, not " + headDim);
        }
    }

    static int ceil(long n, int d) {
        return (int) ((n + d - 1) / d);
    }
}
