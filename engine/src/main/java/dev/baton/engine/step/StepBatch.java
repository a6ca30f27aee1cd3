package dev.baton.engine.step;

import dev.baton.engine.EngineException;
import dev.baton.engine.kv.KvSequence;

/**
 * The input of one forward pass: a flat list of tokens from many sequences (prefill chunks and
 * decode tokens mixed), each with its position and its sequence's block table, and the tokens whose
 * logits are wanted.
 *
 * <p>Each sequence appears at most once per batch, with a contiguous run of positions that starts at
 * its current KV length. Blocks for the new positions are reserved by {@link #add}. Reused across
 * steps ({@link #clear()}); nothing is allocated per token. Owned by one thread.
 */
public final class StepBatch {

    final int maxTokens;
    final int maxSequences;
    final int maxLogitRows;
    final int vocabSize;
    final int contextLength;

    int tokenCount;
    final int[] tokens;
    final int[] positions;
    final int[] tokenSeq;
    int seqCount;
    final KvSequence[] seqs;
    final int[] seqEnd;
    int logitRows;
    final int[] logitTokenIndex;

    public StepBatch(int maxTokens, int maxSequences, int maxLogitRows, int vocabSize, int contextLength) {
        if (maxTokens < 1 || maxSequences < 1 || maxLogitRows < 1) {
            throw new EngineException("batch limits must be positive: tokens " + maxTokens + ", sequences "
                    + maxSequences + ", logit rows " + maxLogitRows);
        }
        this.maxTokens = maxTokens;
        this.maxSequences = maxSequences;
        this.maxLogitRows = maxLogitRows;
        this.vocabSize = vocabSize;
        this.contextLength = contextLength;
        this.tokens = new int[maxTokens];
        this.positions = new int[maxTokens];
        this.tokenSeq = new int[maxTokens];
        this.seqs = new KvSequence[maxSequences];
        this.seqEnd = new int[maxSequences];
        this.logitTokenIndex = new int[maxLogitRows];
    }

    public void clear() {
        for (int i = 0; i < seqCount; i++) {
            seqs[i] = null;
        }
        tokenCount = 0;
        seqCount = 0;
        logitRows = 0;
    }

    public int tokenCount() {
        return tokenCount;
    }

    public int sequenceCount() {
        return seqCount;
    }

    public int logitRowCount() {
        return logitRows;
    }

    /** Token {@code i} of the batch's flat token list. */
    public int token(int i) {
        return tokens[i];
    }

    /** The position of token {@code i} in its sequence. */
    public int position(int i) {
        return positions[i];
    }

    /** The batch sequence index ({@link #sequence}) of token {@code i}. */
    public int tokenSequence(int i) {
        return tokenSeq[i];
    }

    /** Sequence {@code s} of the batch, with its block table. */
    public KvSequence sequence(int s) {
        return seqs[s];
    }

    /** One past the last position of sequence {@code s} in this batch: its KV length after the step. */
    public int sequenceEnd(int s) {
        return seqEnd[s];
    }

    /** The token index whose logits go to row {@code r}. */
    public int logitToken(int r) {
        return logitTokenIndex[r];
    }

    /** The longest context a sequence of this batch may reach (the model's). */
    public int contextLength() {
        return contextLength;
    }

    /** Tokens this batch can still take. */
    public int remainingTokens() {
        return maxTokens - tokenCount;
    }

    /** Logit rows this batch can still return. */
    public int remainingLogitRows() {
        return maxLogitRows - logitRows;
    }

    /** Sequences this batch can still take. */
    public int remainingSequences() {
        return maxSequences - seqCount;
    }

    public boolean hasRoomForSequence() {
        return seqCount < maxSequences && logitRows < maxLogitRows && tokenCount < maxTokens;
    }

    /**
     * Adds {@code ids[from, to)} of a sequence at positions {@code from..to-1}; {@code kv.length()}
     * must equal {@code from}. Reserves the KV blocks these positions need (all or nothing).
     *
     * @return the logits row of the last added token if {@code wantLogits}, else -1
     * @throws dev.baton.engine.kv.KvPoolExhaustedException when the pool lacks blocks (nothing changed)
     */
    public int add(KvSequence kv, int[] ids, int from, int to, boolean wantLogits) {
        return add(kv, ids, from, to, wantLogits ? 1 : 0);
    }

    /**
     * Like {@link #add(KvSequence, int[], int, int, boolean)}, with logits for the last
     * {@code logitCount} tokens of the entry (prompt logprobs, teacher forcing).
     *
     * @return the logits row of the first of those tokens (the others follow), or -1 if none
     */
    public int add(KvSequence kv, int[] ids, int from, int to, int logitCount) {
        int n = to - from;
        if (n < 1) {
            throw new EngineException("a batch entry needs at least one token, got range " + from + ".." + to);
        }
        if (logitCount < 0 || logitCount > n) {
            throw new EngineException("logit count " + logitCount + " outside 0.." + n);
        }
        if (kv.length() != from) {
            throw new EngineException("sequence KV holds " + kv.length() + " positions but the batch entry starts at "
                    + from);
        }
        if (to > contextLength) {
            throw new EngineException("sequence of " + to + " tokens exceeds the model's context length "
                    + contextLength);
        }
        if (n > maxTokens - tokenCount) {
            throw new EngineException(n + " tokens do not fit the batch (" + (maxTokens - tokenCount) + " of "
                    + maxTokens + " left)");
        }
        if (seqCount == maxSequences || logitCount > maxLogitRows - logitRows) {
            throw new EngineException("batch is full: " + seqCount + " sequences, " + logitRows + " logit rows");
        }
        if (seqCount > 0 && kv.pool() != seqs[0].pool()) {
            throw new EngineException("every sequence of a batch must use the same KV pool");
        }
        for (int i = 0; i < seqCount; i++) {
            if (seqs[i] == kv) {
                throw new EngineException("a sequence may appear only once in a batch");
            }
        }
        for (int i = from; i < to; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new EngineException("token id " + ids[i] + " at position " + i + " is outside the vocabulary (0.."
                        + (vocabSize - 1) + ")");
            }
        }
        kv.reserve(to);
        int s = seqCount++;
        seqs[s] = kv;
        seqEnd[s] = to;
        for (int i = from; i < to; i++) {
            tokens[tokenCount] = ids[i];
            positions[tokenCount] = i;
            tokenSeq[tokenCount] = s;
            tokenCount++;
        }
        if (logitCount == 0) {
            return -1;
        }
        int first = logitRows;
        for (int i = tokenCount - logitCount; i < tokenCount; i++) {
            logitTokenIndex[logitRows++] = i;
        }
        return first;
    }
}
