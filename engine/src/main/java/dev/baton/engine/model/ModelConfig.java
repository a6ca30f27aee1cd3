package dev.baton.engine.model;

import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.gguf.GgufTensorInfo;

/**
 * The geometry and hyper-parameters of a transformer, read from GGUF metadata ({@code <arch>.*} keys).
 *
 * @param headDim    elements per attention head ({@code dim / headCount} unless the file says otherwise)
 * @param ropeDims   leading elements of each head that RoPE rotates ({@code <arch>.rope.dimension_count})
 * @param ropeFreqs  per-pair frequency divisors from {@code rope_freqs.weight} (Llama 3.1 scaling), or null
 */
public record ModelConfig(
        Architecture architecture,
        String name,
        int dim,
        int layerCount,
        int headCount,
        int kvHeadCount,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float ropeBase,
        int ropeDims,
        float[] ropeFreqs,
        float rmsEps,
        boolean tiedEmbeddings) {

    /** Elements of all query heads of one token. */
    public int qDim() {
        return headCount * headDim;
    }

    /** Elements of all key (or value) heads of one token. */
    public int kvDim() {
        return kvHeadCount * headDim;
    }

    public static ModelConfig from(GgufFile file) {
        GgufMetadata m = file.metadata();
        Architecture arch = Architecture.of(m.getString("general.architecture"));
        String p = arch.ggufName + ".";
        int dim = m.getInt(p + "embedding_length");
        int layers = m.getInt(p + "block_count");
        int heads = m.getInt(p + "attention.head_count");
        int kvHeads = m.getInt(p + "attention.head_count_kv", heads);
        int headDim = m.getInt(p + "attention.key_length", heads > 0 ? dim / heads : 0);
        int ffn = m.getInt(p + "feed_forward_length");
        int ctx = m.getInt(p + "context_length");
        float ropeBase = m.getFloat(p + "rope.freq_base", 10000f);
        int ropeDims = m.getInt(p + "rope.dimension_count", headDim);
        float eps = m.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f);
        require(dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim > 0 && ffn > 0 && ctx > 0,
                file + ": non-positive model dimension in " + p + "* metadata");
        require(heads % kvHeads == 0, file.path() + ": " + p + "attention.head_count " + heads
                + " is not a multiple of head_count_kv " + kvHeads);
        require(headDim % 2 == 0 && ropeDims % 2 == 0 && ropeDims <= headDim,
                file.path() + ": head dimension " + headDim + " / rope dimensions " + ropeDims + " must be even");
        GgufTensorInfo emb = file.tensor("token_embd.weight");
        int vocab = Math.toIntExact(emb.rows());
        require(emb.cols() == dim, file.path() + ": tensor 'token_embd.weight' has rows of " + emb.cols()
                + " elements, expected embedding_length " + dim);
        float[] ropeFreqs = null;
        GgufTensorInfo rf = file.tensorOrNull("rope_freqs.weight");
        if (rf != null) {
            require(rf.elementCount() == ropeDims / 2, file.path() + ": tensor 'rope_freqs.weight' has "
                    + rf.elementCount() + " elements, expected " + ropeDims / 2);
            ropeFreqs = Weights.readF32(rf);
        }
        boolean tied = file.tensorOrNull("output.weight") == null;
        String name = m.getString("general.name", file.path().getFileName().toString());
        return new ModelConfig(arch, name, dim, layers, heads, kvHeads, headDim, ffn, vocab, ctx, ropeBase,
                ropeDims, ropeFreqs, eps, tied);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new ModelFormatException(message);
        }
    }
}
