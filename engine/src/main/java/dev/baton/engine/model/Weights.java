package dev.baton.engine.model;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.tensor.KernelMode;
import dev.baton.engine.tensor.WeightMatrix;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A model's tensors: 2-D weights stay in the file mapping as {@link WeightMatrix} views; 1-D vectors
 * (norms, biases) are small and copied to the heap as F32.
 *
 * <p>Immutable and shared by every thread of a forward pass; valid while the {@link GgufFile} is open.
 */
public final class Weights {

    /** One transformer block. Bias arrays are null when the architecture has none. */
    public record Layer(
            float[] attnNorm,
            WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
            float[] bq, float[] bk, float[] bv,
            float[] ffnNorm,
            WeightMatrix wGate, WeightMatrix wUp, WeightMatrix wDown) {}

    public final WeightMatrix tokenEmbedding; // (vocab, dim)
    public final Layer[] layers;
    public final float[] outputNorm;          // (dim)
    public final WeightMatrix output;         // (vocab, dim); token_embd when embeddings are tied

    private Weights(WeightMatrix tokenEmbedding, Layer[] layers, float[] outputNorm, WeightMatrix output) {
        this.tokenEmbedding = tokenEmbedding;
        this.layers = layers;
        this.outputNorm = outputNorm;
        this.output = output;
    }

    /** Binds every tensor the config needs, checking its shape; errors name the tensor. */
    public static Weights load(GgufFile file, ModelConfig c, KernelMode mode) {
        WeightMatrix emb = matrix(file, "token_embd.weight", c.vocabSize(), c.dim(), mode);
        Layer[] layers = new Layer[c.layerCount()];
        for (int i = 0; i < layers.length; i++) {
            String p = "blk." + i + ".";
            boolean bias = c.architecture().qkvBias;
            layers[i] = new Layer(
                    vector(file, p + "attn_norm.weight", c.dim()),
                    matrix(file, p + "attn_q.weight", c.qDim(), c.dim(), mode),
                    matrix(file, p + "attn_k.weight", c.kvDim(), c.dim(), mode),
                    matrix(file, p + "attn_v.weight", c.kvDim(), c.dim(), mode),
                    matrix(file, p + "attn_output.weight", c.dim(), c.qDim(), mode),
                    bias ? vector(file, p + "attn_q.bias", c.qDim()) : null,
                    bias ? vector(file, p + "attn_k.bias", c.kvDim()) : null,
                    bias ? vector(file, p + "attn_v.bias", c.kvDim()) : null,
                    vector(file, p + "ffn_norm.weight", c.dim()),
                    matrix(file, p + "ffn_gate.weight", c.ffnDim(), c.dim(), mode),
                    matrix(file, p + "ffn_up.weight", c.ffnDim(), c.dim(), mode),
                    matrix(file, p + "ffn_down.weight", c.dim(), c.ffnDim(), mode));
        }
        float[] outNorm = vector(file, "output_norm.weight", c.dim());
        WeightMatrix out = c.tiedEmbeddings() ? emb : matrix(file, "output.weight", c.vocabSize(), c.dim(), mode);
        return new Weights(emb, layers, outNorm, out);
    }

    private static WeightMatrix matrix(GgufFile file, String name, int rows, int cols, KernelMode mode) {
        GgufTensorInfo t = file.tensor(name);
        if (t.dims().length != 2 || t.cols() != cols || t.rows() != rows) {
            throw new ModelFormatException(file.path() + ": tensor '" + name + "' has shape "
                    + java.util.Arrays.toString(t.dims()) + ", expected [" + cols + ", " + rows + "]");
        }
        return WeightMatrix.of(t, mode);
    }

    private static float[] vector(GgufFile file, String name, int length) {
        GgufTensorInfo t = file.tensor(name);
        if (t.elementCount() != length) {
            throw new ModelFormatException(file.path() + ": tensor '" + name + "' has " + t.elementCount()
                    + " elements, expected " + length);
        }
        return readF32(t);
    }

    /** Copies a small F32 (or F16/BF16) tensor to the heap as floats. */
    static float[] readF32(GgufTensorInfo t) {
        int n = Math.toIntExact(t.elementCount());
        float[] out = new float[n];
        ValueLayout.OfShort s = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        if (t.type() == GgmlType.F32) {
            java.lang.foreign.MemorySegment.copy(t.data(),
                    ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, out, 0, n);
        } else if (t.type() == GgmlType.F16) {
            for (int i = 0; i < n; i++) {
                out[i] = Float.float16ToFloat(t.data().get(s, 2L * i));
            }
        } else if (t.type() == GgmlType.BF16) {
            for (int i = 0; i < n; i++) {
                out[i] = Float.intBitsToFloat((t.data().get(s, 2L * i) & 0xffff) << 16);
            }
        } else {
            throw new ModelFormatException("tensor '" + t.name() + "' has type " + t.type()
                    + "; 1-D tensors must be F32, F16 or BF16");
        }
        return out;
    }
}
