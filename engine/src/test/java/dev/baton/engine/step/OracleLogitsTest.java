package dev.baton.engine.step;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.testing.Oracle;
import dev.baton.engine.testing.TestModel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The forward pass against llama.cpp's logits on the oracle models (see ../shared/oracle/README.md).
 *
 * <p>Teacher-forced: {@code prompt_tokens ++ generated_tokens} run through the model, every row's
 * logits compared with the reference row. F32 models must agree within 1e-4 everywhere. Quantized
 * models: llama.cpp rounds activations to Q8_0 before every quantized dot product, and so does this
 * engine (with the same rounding: {@code 127/amax}, round half to even), and its Q8_0 and Q4_0 dot
 * products take the same float steps as llama.cpp's x86 kernels (see Q8Matrix, Q4Matrix) at every
 * vector width. Measured, with 16 and with 8 float lanes ({@code -XX:UseAVX=2}) alike: tiny-q8_0,
 * tiny-q8_0-long and small-q8_0 equal the references in every bit, and small-q4_0 in rows 0 to 8. From
 * row 9 on small-q4_0 differs by up to 0.27: its reference was made by an AVX-512 build of llama.cpp,
 * whose F32 sums round differently, and an AVX2 build of the same llama.cpp differs from it in the same
 * rows by the same amount (../shared/oracle/README.md). Stated tolerances: {@value #Q8_EXACT} on every
 * row of the Q8_0 models and on rows 0 to 8 of small-q4_0, {@value #QUANT_TOLERANCE_SMALL} on the later
 * rows of small-q4_0, and argmax compared on every row where the reference's top-1/top-2 gap is above 0.05.
 */
@Timeout(120)
class OracleLogitsTest {

    static final double F32_TOLERANCE = 1e-4;
    static final double Q8_EXACT = 1e-5;
    static final double QUANT_TOLERANCE_SMALL = 0.3;
    static final double KQ_ROW_MAX = 1.5;
    static final double KQ_ROW_MEAN = 0.25;
    static final double KQ_GAP = 0.5;
    static final double KQ_EXACT = 1e-4;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "tiny-f32, tiny-f32", "tiny-f32-long, tiny-f32",
        "tiny-qwen2-f32, tiny-qwen2-f32", "tiny-qwen2-f32-long, tiny-qwen2-f32",
        "tiny-llama3rope-f32, tiny-llama3rope-f32", "tiny-llama3rope-f32-long, tiny-llama3rope-f32",
    })
    void shouldMatchLlamaCppLogitsOnF32Models(String ref, String model) throws Exception {
        Result r = compare(ref, model);
        assertTrue(r.maxDiff <= F32_TOLERANCE, ref + ": max |logit - reference| = " + r.maxDiff + " at row " + r.worstRow);
        assertArrayEquals(r.refGreedy, r.greedy, ref + ": greedy tokens differ");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "tiny-q8_0, tiny-q8_0, 1000", "tiny-q8_0-long, tiny-q8_0, 1000",
        "small-q8_0, small-q8_0, 1000", "small-q4_0, small-q4_0, 9",
    })
    void shouldMatchLlamaCppLogitsTeacherForcedOnQuantizedModels(String ref, String model, int exactRows) throws Exception {
        Result r = compare(ref, model);
        for (int row = 0; row < r.expected().length; row++) {
            double tolerance = row < exactRows ? Q8_EXACT : QUANT_TOLERANCE_SMALL;
            assertTrue(r.rowMaxDiff(row) <= tolerance, ref + ": max |logit - reference| = " + r.rowMaxDiff(row)
                    + " at row " + row + " (tolerance " + tolerance + ")");
        }
        assertEquals(0, r.argmaxMismatches, ref + ": argmax differs on rows with a clear reference winner");
    }

    /**
     * K-quant files (../shared/oracle/README.md, "K-quant models"): every matmul rounds its input to Q8_K
     * as llama.cpp does, so rows agree to float noise (measured: at most 1e-5) until one activation
     * rounding lands within float noise of a .5 tie, after which a row differs by up to 0.5 (measured
     * on q3_k_m-long; mean |diff| of a row at most 0.09). The bounds asserted are the README's for
     * K-quants: per row max |diff| <= {@value #KQ_ROW_MAX} and mean |diff| <= {@value #KQ_ROW_MEAN}, argmax
     * equal where the reference top-1/top-2 gap exceeds {@value #KQ_GAP}. Tighter, {@value #KQ_EXACT} on
     * every row of the runs with no tie (q4_k-pure and q3_k_m, short prompt; the README finds no tie
     * in q4_k-pure), and on rows 0-2 of every run (the earliest tie measured moves row 3). The README
     * also finds none in q5_k_m and q6_k short, but this engine's fp32 forward pass (norms, attention)
     * sums in another order than llama.cpp's and meets one there at rows 15 and 17.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "small-kq-q2_k, false", "small-kq-q2_k-long, false", "small-kq-q3_k_m, true", "small-kq-q3_k_m-long, false",
        "small-kq-q4_k_m, false", "small-kq-q4_k_m-long, false", "small-kq-q4_k-pure, true",
        "small-kq-q4_k-pure-long, false", "small-kq-q5_k_m, false", "small-kq-q5_k_m-long, false",
        "small-kq-q6_k, false", "small-kq-q6_k-long, false",
    })
    void shouldMatchLlamaCppLogitsTeacherForcedOnKQuantModels(String ref, boolean exactEveryRow) throws Exception {
        Result r = compare(ref, ref.replace("-long", ""));
        for (int row = 0; row < r.expected.length; row++) {
            double max = r.rowMaxDiff(row);
            double mean = r.rowMeanDiff(row);
            assertTrue(max <= KQ_ROW_MAX, ref + ": row " + row + " max |logit - reference| = " + max);
            assertTrue(mean <= KQ_ROW_MEAN, ref + ": row " + row + " mean |logit - reference| = " + mean);
            if (exactEveryRow || row < 3) {
                assertTrue(max <= KQ_EXACT, ref + ": row " + row + " max |logit - reference| = " + max
                        + ", expected float noise only (Q8_K rounding as llama.cpp)");
            }
        }
        assertEquals(0, r.argmaxMismatches(KQ_GAP), ref + ": argmax differs on rows with a clear reference winner");
    }

    /** Teacher-forced logits of the engine and of llama.cpp, {@code [row][vocab]}, and the greedy tokens. */
    record Result(double maxDiff, double maxDiffEarly, int worstRow, int[] greedy, int[] refGreedy, int argmaxMismatches,
            float[][] expected, float[][] actual) {

        double rowMaxDiff(int row) {
            double m = 0;
            for (int i = 0; i < expected[row].length; i++) {
                m = Math.max(m, Math.abs(expected[row][i] - actual[row][i]));
            }
            return m;
        }

        double rowMeanDiff(int row) {
            double s = 0;
            for (int i = 0; i < expected[row].length; i++) {
                s += Math.abs(expected[row][i] - actual[row][i]);
            }
            return s / expected[row].length;
        }

        /** Rows whose argmax differs from the reference's where the reference's top-1/top-2 gap is above {@code minGap}. */
        int argmaxMismatches(double minGap) {
            int n = 0;
            for (int row = 0; row < expected.length; row++) {
                if (gap(expected[row]) > minGap && argmax(expected[row]) != argmax(actual[row])) {
                    n++;
                }
            }
            return n;
        }
    }

    private Result compare(String ref, String model) throws Exception {
        JsonNode json = Oracle.ref(ref);
        int[] prompt = Oracle.ints(json.get("prompt_tokens"));
        int[] generated = Oracle.ints(json.get("generated_tokens"));
        int[] all = new int[prompt.length + generated.length];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(generated, 0, all, prompt.length, generated.length);
        float[][] expected = Oracle.logits(ref);
        assertEquals(all.length, expected.length, "reference rows");
        float[][] actual;
        try (TestModel m = TestModel.open(Oracle.model(model), 64, 64)) {
            actual = m.teacherForced(all);
        }
        double maxDiff = 0;
        double maxDiffEarly = 0;
        int worstRow = -1;
        int mismatches = 0;
        for (int row = 0; row < all.length; row++) {
            float[] e = expected[row];
            float[] a = actual[row];
            for (int i = 0; i < e.length; i++) {
                double d = Math.abs(e[i] - a[i]);
                if (row < 16) {
                    maxDiffEarly = Math.max(maxDiffEarly, d);
                }
                if (d > maxDiff) {
                    maxDiff = d;
                    worstRow = row;
                }
            }
            if (gap(e) > 0.05 && argmax(e) != argmax(a)) {
                mismatches++;
            }
        }
        int[] greedy = new int[generated.length];
        for (int k = 0; k < generated.length; k++) {
            greedy[k] = argmax(actual[prompt.length - 1 + k]);
        }
        return new Result(maxDiff, maxDiffEarly, worstRow, greedy, generated, mismatches, expected, actual);
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }

    static double gap(float[] a) {
        int best = argmax(a);
        float second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < a.length; i++) {
            if (i != best && a[i] > second) {
                second = a[i];
            }
        }
        return a[best] - second;
    }
}
