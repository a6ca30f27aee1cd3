package dev.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;

/** Touches the Vector API; loaded only once {@link KernelMode} has seen the module in the boot layer. */
final class VectorProbe {

    private VectorProbe() {}

    static int lanes() {
        return FloatVector.SPECIES_PREFERRED.length();
    }

    /** The vector kernels are written for 8 or 16 float lanes (AVX2, AVX-512). */
    static boolean usable() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        return lanes == 8 || lanes == 16;
    }
}
