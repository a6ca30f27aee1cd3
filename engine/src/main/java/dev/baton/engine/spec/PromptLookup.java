package dev.baton.engine.spec;

/**
 * Prompt lookup (n-gram) drafts: the last {@code n} tokens of the sequence are searched for earlier in
 * the sequence (prompt and answer so far), most recent occurrence first, and the tokens that followed
 * that occurrence are the draft. The longest n-gram from {@code ngramMax} down to {@code ngramMin} that
 * matches wins. Costs no model: it pays off where the answer copies spans of its context (code edits,
 * summaries that quote, retrieval answers, repetitive output).
 *
 * <p>Stateless and allocation-free; one instance may serve every sequence of a loop. A search costs at most
 * {@code length * (ngramMax - ngramMin + 1) * ngramMax} token comparisons, far below one forward pass.
 */
public final class PromptLookup implements Drafter {

    private final int ngramMin;
    private final int ngramMax;

    /** @throws IllegalArgumentException unless {@code 1 <= ngramMin <= ngramMax} */
    public PromptLookup(int ngramMin, int ngramMax) {
        if (ngramMin < 1 || ngramMax < ngramMin) {
            throw new IllegalArgumentException("n-gram sizes must satisfy 1 <= min <= max, got min " + ngramMin
                    + ", max " + ngramMax);
        }
        this.ngramMin = ngramMin;
        this.ngramMax = ngramMax;
    }

    @Override
    public int draft(int[] tokens, int length, int[] out, int max) {
        for (int n = Math.min(ngramMax, length - 1); n >= ngramMin; n--) {
            int suffix = length - n;
            // an earlier occurrence [start, start + n) followed by at least one token before the suffix ends
            for (int start = suffix - 1; start >= 0; start--) {
                if (matches(tokens, start, suffix, n)) {
                    int from = start + n;
                    int count = Math.min(max, length - from);
                    System.arraycopy(tokens, from, out, 0, count);
                    return count;
                }
            }
        }
        return 0;
    }

    private static boolean matches(int[] tokens, int a, int b, int n) {
        for (int i = n - 1; i >= 0; i--) { // the last token differs most often: compare from the end
            if (tokens[a + i] != tokens[b + i]) {
                return false;
            }
        }
        return true;
    }
}
