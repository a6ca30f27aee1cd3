package dev.baton.cuda;

/**
 * Split-K (multiblock) decode attention on the GPU: a token at position {@code p} attends to {@code p + 1}
 * positions cut into fixed chunks {@code [0, CHUNK), [CHUNK, 2 CHUNK), ...}; one thread block computes each
 * (token, head, chunk) and a second kernel merges a token's chunks in chunk order. The cut depends only on
 * the token's position, never on the batch or the device, so results do not either; a single long sequence
 * still spreads over {@code heads x chunks} blocks and fills the GPU.
 */
public final class SplitK {

    /** Positions of a chunk: BATON_ATTN_CHUNK in baton_kernels.cu, and the CPU's PagedAttention.CHUNK. */
    public static final int CHUNK = 256;

    private SplitK() {}

    /** Chunks of a token at {@code position} (its context is {@code position + 1} positions). */
    public static int chunks(int position) {
        if (position < 0) {
            throw new IllegalArgumentException("position " + position);
        }
        return position / CHUNK + 1;
    }

    /** The first position of chunk {@code c}. */
    public static int chunkStart(int c) {
        return c * CHUNK;
    }

    /** One past the last position of chunk {@code c} of a token at {@code position}. */
    public static int chunkEnd(int c, int position) {
        return Math.min(position + 1, (c + 1) * CHUNK);
    }

    /** Floats of the partial results for {@code tokens} tokens of up to {@code maxChunks} chunks: acc, max, sum. */
    public static long workspaceFloats(int tokens, int heads, int headDim, int maxChunks) {
        return (long) tokens * heads * maxChunks * (headDim + 2);
    }

    /** Thread blocks a launch for one token at {@code position} fills: heads times its chunks. */
    public static long blocks(int heads, int position) {
        return (long) heads * chunks(position);
    }
}
