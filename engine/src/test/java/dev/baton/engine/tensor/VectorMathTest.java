package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class VectorMathTest {

    @Test
    void shouldMatchMathExpWithinTwoTenthsOfAMillionth() {
        SplittableRandom r = new SplittableRandom(5);
        double worst = 0;
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (r.nextDouble() * 170 - 86);
            double rel = Math.abs(VectorMath.exp(x) - Math.exp(x)) / Math.exp(x);
            worst = Math.max(worst, rel);
        }
        assertTrue(worst < 2e-7, "worst relative error " + worst);
        assertEquals(1f, VectorMath.exp(0f));
        assertTrue(VectorMath.exp(-1000f) < 2e-38f && VectorMath.exp(-1000f) >= 0f);
        assertTrue(Float.isFinite(VectorMath.exp(1000f)));
    }

    @Test
    void shouldGiveTheSameBitsInVectorLanesAndScalarTail() {
        SplittableRandom r = new SplittableRandom(9);
        int n = 1000 + 7;
        float[] s = new float[n];
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) (r.nextDouble() * 40 - 30);
            expected[i] = VectorMath.exp(s[i] - 3f);
        }
        VectorMath.expShifted(s, n, 3f);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(s[i]), "element " + i);
        }
    }

    @Test
    void shouldComputeSwiglu() {
        float[] g = {-3f, -0.5f, 0f, 0.5f, 2f, 10f};
        float[] u = {1f, 2f, 3f, -1f, 0.5f, 1f};
        float[] want = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            want[i] = (float) (g[i] / (1 + Math.exp(-g[i])) * u[i]);
        }
        VectorMath.swiglu(g, u, g.length);
        for (int i = 0; i < g.length; i++) {
            assertEquals(want[i], g[i], 1e-6f * Math.max(1f, Math.abs(want[i])));
        }
    }
}
