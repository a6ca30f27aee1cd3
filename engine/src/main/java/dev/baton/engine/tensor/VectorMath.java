package dev.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp} for softmax and SiLU, vectorized, from exactly rounded operations only (fma, add,
 * multiply, integer shifts), so that the interpreter, C1 and C2 all give the same bits and the
 * scalar tail gives the same bits as a vector lane. ({@code VectorOperators.EXP} calls a math
 * library whose results may differ between those paths, which would break the determinism contract.)
 *
 * <p>Range reduction {@code x = n ln2 + r}, {@code |r| <= ln2/2}, and Cephes' degree-5 polynomial
 * for {@code e^r}: relative error below 2e-7 for {@code x} in [-87, 88]; inputs below -87 give a
 * result under 2e-38 (not 0), inputs above 88 are clamped. Static, thread-safe, allocation-free.
 */
public final class VectorMath {

    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorKernels.I;
    private static final int L = F.length();

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding and subtracting rounds to an integer
    private static final float MIN_X = -87.0f;
    private static final float MAX_X = 88.0f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private VectorMath() {}

    /** {@code e^x}, the same bits as each lane of {@link #exp(FloatVector)}. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, MIN_X), MAX_X);
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(-n, LN2_HI, x);
        r = Math.fma(-n, LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** {@code e^x} lane by lane. */
    public static FloatVector exp(FloatVector x) {
        x = x.max(MIN_X).min(MAX_X);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.neg().fma(FloatVector.broadcast(F, LN2_HI), x);
        r = n.neg().fma(FloatVector.broadcast(F, LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, P0).fma(r, FloatVector.broadcast(F, P1));
        p = p.fma(r, FloatVector.broadcast(F, P2));
        p = p.fma(r, FloatVector.broadcast(F, P3));
        p = p.fma(r, FloatVector.broadcast(F, P4));
        p = p.fma(r, FloatVector.broadcast(F, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector e = ((IntVector) n.convertShape(VectorOperators.F2I, I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(e.reinterpretAsFloats());
    }

    /**
     * Softmax numerators in place: {@code s[i] = e^(s[i] - max)} for {@code i < n}; returns their sum
     * (accumulated in double, in index order).
     */
    public static double expShifted(float[] s, int n, float max) {
        double sum = 0;
        int i = 0;
        if (KernelMode.vectorAvailable()) {
            for (; i + L <= n; i += L) {
                FloatVector v = exp(FloatVector.fromArray(F, s, i).sub(max));
                v.intoArray(s, i);
            }
        }
        for (; i < n; i++) {
            s[i] = exp(s[i] - max);
        }
        for (int j = 0; j < n; j++) {
            sum += s[j];
        }
        return sum;
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n}, with {@code silu(x) = x / (1 + e^-x)}. */
    public static void swiglu(float[] gate, float[] up, int n) {
        int i = 0;
        if (KernelMode.vectorAvailable()) {
            for (; i + L <= n; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, i);
                FloatVector silu = g.div(exp(g.neg()).add(1f));
                silu.mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
            }
        }
        for (; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (exp(-g) + 1f) * up[i];
        }
    }
}
