package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgufTensorInfo;

/** Vector API kernels; this class is loaded only when {@link KernelMode#vectorAvailable()}. */
final class VectorKernels {

    private VectorKernels() {}

    static WeightMatrix matrix(GgufTensorInfo t) {
        // First version: the scalar kernels stand in until the vector ones land.
        return switch (t.type()) {
            case F32 -> new F32Matrix(t);
            case F16 -> new F16Matrix(t);
            case BF16 -> new Bf16Matrix(t);
            case Q8_0 -> new Q8Matrix(t);
            case Q4_0 -> new Q4Matrix(t);
            default -> throw new AssertionError(t.type());
        };
    }
}
