package dev.baton.engine.tensor;

/**
 * Which implementation of the kernels a {@link WeightMatrix} (and {@link FloatOps}) uses.
 *
 * <p>{@link #VECTOR} uses the {@code jdk.incubator.vector} API (the JVM needs
 * {@code --add-modules jdk.incubator.vector}) and needs a CPU with at least 256-bit vectors of
 * floats (AVX2, AVX-512). {@link #SCALAR} is plain Java: the reference the vector kernels are
 * tested against, and the fallback where the module is absent. Both give the same results up to
 * float rounding; each is deterministic on its own.
 */
public enum KernelMode {
    VECTOR,
    SCALAR;

    private static final boolean VECTOR_AVAILABLE = probeVector();

    /** {@link #VECTOR} if the Vector API is usable in this JVM, else {@link #SCALAR}. */
    public static KernelMode defaultMode() {
        return VECTOR_AVAILABLE ? VECTOR : SCALAR;
    }

    /** Whether {@link #VECTOR} kernels can run in this JVM. */
    public static boolean vectorAvailable() {
        return VECTOR_AVAILABLE;
    }

    /** For the startup log: {@code vector kernels, 16 float lanes} or {@code scalar kernels}. */
    public String describe() {
        if (this == VECTOR && VECTOR_AVAILABLE) {
            return "vector kernels, " + VectorProbe.lanes() + " float lanes";
        }
        return "scalar kernels";
    }

    private static boolean probeVector() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return false;
        }
        try {
            return VectorProbe.usable();
        } catch (LinkageError e) {
            // The module is resolved but cannot be linked here: the scalar kernels are the answer.
            return false;
        }
    }
}
