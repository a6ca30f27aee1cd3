package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;

/**
 * A tensor the CPU kernels cannot compute with: a type without kernels, a shape other than 2-D, or
 * a row length that is not a whole number of blocks. The message names the tensor and its type.
 */
public final class UnsupportedTensorException extends RuntimeException {

    private final String tensorName;
    private final GgmlType type;

    public UnsupportedTensorException(String tensorName, GgmlType type, String reason) {
        super("tensor '" + tensorName + "' of type " + type + ": " + reason);
        this.tensorName = tensorName;
        this.type = type;
    }

    public String tensorName() {
        return tensorName;
    }

    public GgmlType type() {
        return type;
    }
}
