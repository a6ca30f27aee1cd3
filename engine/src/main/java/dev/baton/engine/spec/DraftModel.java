package dev.baton.engine.spec;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.kv.KvPoolExhaustedException;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drafts from a second, smaller model with the target's vocabulary ({@code baton.engine.speculation.mode =
 * draft-model}, {@code --draft-model}): for each decoding sequence the draft model keeps its own KV of the
 * sequence's tokens, and a draft is its greedy continuation of up to k tokens. Between drafts the target keeps a
 * prefix of the draft (and one token of its own); the draft model's KV is cut back to the tokens the two still
 * share and only the new ones are computed, so a sequence costs the draft model one forward pass per drafted
 * token plus one for the target's own token.
 *
 * <p>A draft never changes the output (the target verifies it, docs/design.md §4); so nothing in here may fail a
 * request either: when the draft model's KV pool is full, a sequence runs past its context, or its forward pass
 * throws, the sequence gets no draft that step (the error is logged once).
 *
 * <p>Runs on the engine loop's thread (its forward pass on the draft engine's own workers). Allocates nothing per
 * draft: each sequence's token copy is sized once, to the draft model's context.
 */
public final class DraftModel implements Drafter, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DraftModel.class);

    private final Engine draft;
    private final StepBatch batch;
    private final int vocab;
    private final int context;
    private boolean failureLogged;

    private DraftModel(Engine draft) {
        this.draft = draft;
        this.batch = draft.newBatch();
        this.vocab = draft.config().vocabSize();
        this.context = draft.config().contextLength();
    }

    /**
     * Opens the draft model at {@code path} for {@code target}: its own KV pool of {@code kvCacheBytes} and the
     * target's thread count. Refuses a file whose vocabulary is not the target's (size, or any token's bytes) with
     * the first difference named.
     */
    public static DraftModel open(Path path, long kvCacheBytes, Engine target) {
        EngineSettings s = EngineSettings.defaults(path).withThreads(target.settings().threads())
                .withKvCacheBytes(kvCacheBytes).withPrefixCache(false).validate();
        Engine e;
        try {
            e = Engine.open(s);
        } catch (IOException | RuntimeException ex) {
            throw new EngineException("draft model " + path + ": " + ex.getMessage(), ex);
        }
        try {
            checkVocabulary(path, e.tokenizer(), target);
            return new DraftModel(e);
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
    }

    private static void checkVocabulary(Path path, Tokenizer d, Engine target) {
        Tokenizer t = target.tokenizer();
        String which = "draft model " + path + " does not share the vocabulary of the target "
                + target.settings().model().getFileName() + ": ";
        if (d.vocabSize() != t.vocabSize() || target.config().vocabSize() != d.vocabSize()) {
            throw new EngineException(which + d.vocabSize() + " tokens against " + t.vocabSize());
        }
        for (int id = 0; id < t.vocabSize(); id++) {
            if (!Arrays.equals(d.tokenBytes(id), t.tokenBytes(id))) {
                throw new EngineException(which + "token " + id + " is '" + d.tokenText(id) + "' against '"
                        + t.tokenText(id) + "'");
            }
        }
    }

    /** The draft model's engine (its pool, for tests and meters). */
    public Engine engine() {
        return draft;
    }

    /** Without a sequence there is no KV to keep: no draft (the loop asks {@link #forSequence} instead). */
    @Override
    public int draft(int[] tokens, int length, int[] out, int max) {
        return 0;
    }

    @Override
    public Drafter forSequence() {
        return new Sequence();
    }

    @Override
    public boolean batched() {
        return true;
    }

    /**
     * Every sequence's draft in as few forward passes as the draft batch allows: first each sequence's tokens the
     * draft model has not seen (its catch-up, logits at its last token), then one position per sequence and pass
     * until each has its {@code max} tokens. A sequence whose catch-up or KV does not fit gets no draft; a failing
     * pass leaves every sequence of the call without one.
     */
    @Override
    public void draftBatch(Drafter[] seqs, int[][] tokens, int[] lengths, int[][] outs, int[] max, int[] counts,
            int n) {
        int rounds = 0;
        for (int i = 0; i < n; i++) {
            Sequence q = (Sequence) seqs[i];
            int k = Math.min(max[i], context - lengths[i]);
            counts[i] = 0;
            q.want = 0;
            if (k <= 0 || lengths[i] < 1) {
                continue;
            }
            try {
                q.pos = q.catchUp(tokens[i], lengths[i], k);
                q.want = k;
                rounds = Math.max(rounds, k);
            } catch (KvPoolExhaustedException e) {
                q.kv.setLength(0);
            }
        }
        try {
            // catch-up passes: each sequence's unseen tokens, split over passes when they exceed a batch
            boolean pending = true;
            while (pending) {
                pending = false;
                batch.clear();
                for (int i = 0; i < n; i++) {
                    Sequence q = (Sequence) seqs[i];
                    if (q.want == 0 || q.pos >= lengths[i]) {
                        continue;
                    }
                    if (!batch.hasRoomForSequence()) {
                        pending = true;
                        break;
                    }
                    int to = Math.min(lengths[i], q.pos + batch.remainingTokens());
                    q.row = batch.add(q.kv, q.fed, q.pos, to, to == lengths[i]);
                    q.pos = to;
                    pending |= to < lengths[i];
                }
                if (batch.tokenCount() > 0) {
                    draft.forward().step(batch);
                    float[] logits = draft.forward().logits();
                    for (int i = 0; i < n; i++) {
                        Sequence q = (Sequence) seqs[i];
                        if (q.want > 0 && q.row >= 0 && q.pos == lengths[i] && counts[i] == 0) {
                            outs[i][0] = argmax(logits, q.row);
                            counts[i] = 1;
                            q.row = -1;
                        }
                    }
                }
            }
            // one position per sequence and pass: the token drafted last goes in, the next comes out
            for (int j = 1; j < rounds; j++) {
                int from = 0;
                while (from < n) {
                    batch.clear();
                    int end = from;
                    for (; end < n && batch.hasRoomForSequence(); end++) {
                        Sequence q = (Sequence) seqs[end];
                        if (q.want > j && counts[end] == j) {
                            int p = lengths[end] + j - 1;
                            q.fed[p] = outs[end][j - 1];
                            q.row = batch.add(q.kv, q.fed, p, p + 1, true);
                        }
                    }
                    if (batch.tokenCount() > 0) {
                        draft.forward().step(batch);
                        float[] logits = draft.forward().logits();
                        for (int i = from; i < end; i++) {
                            Sequence q = (Sequence) seqs[i];
                            if (q.want > j && counts[i] == j) {
                                outs[i][j] = argmax(logits, q.row);
                                counts[i] = j + 1;
                            }
                        }
                    }
                    from = end;
                }
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < n; i++) {
                counts[i] = 0;
                ((Sequence) seqs[i]).kv.setLength(0);
            }
            logFailure(e);
        }
    }

    private void logFailure(RuntimeException e) {
        if (!failureLogged) {
            failureLogged = true;
            LOG.warn("draft model step failed; sequences go on without drafts where it fails", e);
        }
    }

    private int argmax(float[] logits, int row) {
        int base = row * vocab;
        int best = 0;
        float max = logits[base];
        for (int i = 1; i < vocab; i++) {
            if (logits[base + i] > max) {
                max = logits[base + i];
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() {
        draft.close();
    }

    /** One sequence's draft state: its KV in the draft model and the tokens that KV holds. */
    private final class Sequence implements Drafter {
        private final KvSequence kv = draft.newSequence();
        /** Tokens fed to the draft model: {@code fed[0, kv.length())} is what its KV holds; drafts go after. */
        private final int[] fed = new int[context];
        /** {@link #draftBatch}: tokens wanted (0: none), the next position to feed, the logits row of the last pass. */
        private int want;
        private int pos;
        private int row = -1;

        /**
         * Cuts the KV back to the tokens it shares with {@code tokens[0, length)} (the last one always fed again, for
         * its logits), reserves room for {@code k} draft tokens and copies the new tokens in; returns the first
         * position to feed.
         */
        int catchUp(int[] tokens, int length, int k) {
            int shared = 0;
            int held = Math.min(kv.length(), length - 1);
            while (shared < held && fed[shared] == tokens[shared]) {
                shared++;
            }
            kv.setLength(shared);
            kv.reserve(length + k - 1);
            System.arraycopy(tokens, shared, fed, shared, length - shared);
            row = -1;
            return shared;
        }

        /** One sequence on its own: {@link #draftBatch} with this sequence alone (arrays made once, here). */
        private final Drafter[] self = {this};
        private final int[][] tokensOf = new int[1][];
        private final int[][] outOf = new int[1][];
        private final int[] lengthOf = new int[1];
        private final int[] maxOf = new int[1];
        private final int[] countOf = new int[1];

        @Override
        public int draft(int[] tokens, int length, int[] out, int max) {
            tokensOf[0] = tokens;
            outOf[0] = out;
            lengthOf[0] = length;
            maxOf[0] = max;
            DraftModel.this.draftBatch(self, tokensOf, lengthOf, outOf, maxOf, countOf, 1);
            tokensOf[0] = null;
            outOf[0] = null;
            return countOf[0];
        }

        @Override
        public void release() {
            kv.free();
        }
    }
}
