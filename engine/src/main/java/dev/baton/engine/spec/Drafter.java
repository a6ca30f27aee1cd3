package dev.baton.engine.spec;

/**
 * Proposes the tokens a sequence is likely to continue with, for the target model to verify in one
 * forward pass (speculative decoding, docs/design.md §4). A draft only saves time: a wrong draft costs
 * the positions it occupied in a step, never a different output.
 *
 * <p>Called on the engine loop's thread; must not block and should allocate nothing per call.
 */
public interface Drafter {

    /**
     * Writes at most {@code max} draft tokens into {@code out[0, max)}.
     *
     * @param tokens the sequence so far (prompt then generated), entries {@code [0, length)} valid; not changed
     * @param length tokens of the sequence
     * @param out    where the draft goes
     * @param max    the most tokens to propose, at least 1
     * @return how many tokens were written, 0 for no draft
     */
    int draft(int[] tokens, int length, int[] out, int max);

    /**
     * The drafter one sequence uses from its first draft until it leaves the loop, which then calls
     * {@link #release()} on it: a drafter that keeps state per sequence (a draft model's KV) returns a new one; a
     * stateless one returns itself (the default).
     */
    default Drafter forSequence() {
        return this;
    }

    /** The sequence this came from {@link #forSequence} for has left the loop: free what it holds. */
    default void release() {}

    /**
     * Whether the loop should draft every sequence of a step in one call to {@link #draftBatch} (a draft model runs
     * one forward pass per draft position for all of them) rather than one {@link #draft} per sequence.
     */
    default boolean batched() {
        return false;
    }

    /**
     * Drafts for {@code n} sequences at once: for each {@code i < n}, the sequence's own drafter {@code seqs[i]}
     * (from {@link #forSequence}), its tokens {@code tokens[i][0, lengths[i])}, at most {@code max[i]} (at least 1)
     * draft tokens into {@code outs[i]}, and how many were written into {@code counts[i]}. The default drafts
     * each sequence on its own.
     */
    default void draftBatch(Drafter[] seqs, int[][] tokens, int[] lengths, int[][] outs, int[] max, int[] counts,
            int n) {
        for (int i = 0; i < n; i++) {
            counts[i] = seqs[i].draft(tokens[i], lengths[i], outs[i], max[i]);
        }
    }
}
