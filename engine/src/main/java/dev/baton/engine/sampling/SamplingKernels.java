package dev.baton.engine.sampling;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vocabulary-wide loops of {@link Sampler}, vectorized. Every result is independent of how the
 * hardware splits the work into lanes only where that cannot change a choice: maxima are exact, and
 * sums are accumulated lane by lane in a fixed order, so a given machine always gives the same bits.
 * Stateless; allocation-free.
 */
final class SamplingKernels {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;

    private SamplingKernels() {}

    /** The largest of {@code x[0 .. n)} (NaN if any is NaN). */
    static float max(float[] x, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= F.length()) {
            FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int bound = F.loopBound(n); i < bound; i += F.length()) {
                acc = acc.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, x, i));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    /** The lowest index {@code i < n} with {@code x[i] == v}, or -1. */
    static int firstIndexOf(float[] x, int n, float v) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            VectorMask<Float> eq = FloatVector.fromArray(F, x, i).compare(VectorOperators.EQ, v);
            if (eq.anyTrue()) {
                return i + eq.firstTrue();
            }
        }
        for (; i < n; i++) {
            if (x[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /** {@code out[i] = exp((x[i] - max) * scale)} for {@code i < n}. */
    static void exp(float[] x, int n, float max, float scale, float[] out) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).sub(max).mul(scale).lanewise(VectorOperators.EXP).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = (float) Math.exp((x[i] - max) * scale);
        }
    }

    /**
     * {@code out[i] = exp((x[i] - max) * scale)} for the kept tokens, else 0. Token {@code i} is kept if
     * it ranks at or above {@code (lastLogit, lastId)} in the order (logit descending, id ascending),
     * that is {@code x[i] > lastLogit || (x[i] == lastLogit && i <= lastId)}, and
     * {@code x[i] - max >= minDelta}.
     */
    static void maskedExp(float[] x, int n, float max, float scale, float lastLogit, int lastId, float minDelta, float[] out) {
        int i = 0;
        IntVector iota = IntVector.fromArray(I, iotaArray(), 0);
        if (I.length() == F.length()) {
            for (int bound = F.loopBound(n); i < bound; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                VectorMask<Float> ranked = v.compare(VectorOperators.GT, lastLogit)
                        .or(v.compare(VectorOperators.EQ, lastLogit)
                                .and(iota.add(i).compare(VectorOperators.LE, lastId).cast(F)));
                VectorMask<Float> keep = ranked.and(v.sub(max).compare(VectorOperators.GE, minDelta));
                v.sub(max).mul(scale).lanewise(VectorOperators.EXP).blend(0f, keep.not()).intoArray(out, i);
            }
        }
        for (; i < n; i++) {
            float v = x[i];
            boolean keep = (v > lastLogit || (v == lastLogit && i <= lastId)) && v - max >= minDelta;
            out[i] = keep ? (float) Math.exp((v - max) * scale) : 0f;
        }
    }

    /** The sum of {@code w[from .. to)}: lane-wise partial sums, then the lanes in order, in double. */
    static double sum(float[] w, int from, int to) {
        int i = from;
        double s = 0;
        if (to - from >= F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int bound = from + F.loopBound(to - from); i < bound; i += F.length()) {
                acc = acc.add(FloatVector.fromArray(F, w, i));
            }
            for (int lane = 0; lane < F.length(); lane++) {
                s += acc.lane(lane);
            }
        }
        for (; i < to; i++) {
            s += w[i];
        }
        return s;
    }

    private static final int[] IOTA = buildIota();

    private static int[] iotaArray() {
        return IOTA;
    }

    private static int[] buildIota() {
        int[] a = new int[Math.max(I.length(), 1)];
        for (int i = 0; i < a.length; i++) {
            a[i] = i;
        }
        return a;
    }
}
