package dev.baton.cuda;

import dev.baton.engine.EngineException;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.step.StepBatch;

/**
 * A {@link StepBatch} as the kernels read it: flat int arrays for the tokens, their positions and sequences,
 * the sequences' block tables (one row of {@link #maxBlocks()} per sequence) and the logits rows, ready to
 * copy to the device in one transfer each. Sized once for the pass's limits; {@link #pack} allocates nothing.
 */
public final class DeviceBatch {

    private final int maxTokens;
    private final int maxSequences;
    private final int maxLogitRows;
    private final int blockSize;
    private final int maxBlocks;

    final int[] tokens;
    final int[] positions;
    final int[] tokenSeq;
    final int[] blockTables;
    final int[] logitRows;
    private final int[] lastPosition; // per batch sequence
    private int tokenCount;
    private int seqCount;
    private int logitRowCount;
    private int maxChunks;

    public DeviceBatch(int maxTokens, int maxSequences, int maxLogitRows, int contextLength, int blockSize) {
        this.maxTokens = maxTokens;
        this.maxSequences = maxSequences;
        this.maxLogitRows = maxLogitRows;
        this.blockSize = blockSize;
        this.maxBlocks = (contextLength + blockSize - 1) / blockSize;
        tokens = new int[maxTokens];
        positions = new int[maxTokens];
        tokenSeq = new int[maxTokens];
        blockTables = new int[Math.multiplyExact(maxSequences, maxBlocks)];
        logitRows = new int[maxLogitRows];
        lastPosition = new int[maxSequences];
    }

    /** Copies the batch; checks that every sequence holds a block for each position its tokens attend to. */
    public void pack(StepBatch b) {
        int n = b.tokenCount();
        int seqs = b.sequenceCount();
        int rows = b.logitRowCount();
        if (n > maxTokens || seqs > maxSequences || rows > maxLogitRows) {
            throw new EngineException("batch of " + n + " tokens, " + seqs + " sequences, " + rows
                    + " logit rows past the device batch's " + maxTokens + ", " + maxSequences + ", " + maxLogitRows);
        }
        int chunks = 0;
        java.util.Arrays.fill(lastPosition, 0, seqs, -1);
        for (int t = 0; t < n; t++) {
            tokens[t] = b.token(t);
            positions[t] = b.position(t);
            tokenSeq[t] = b.tokenSequence(t);
            chunks = Math.max(chunks, SplitK.chunks(positions[t]));
            lastPosition[tokenSeq[t]] = Math.max(lastPosition[tokenSeq[t]], positions[t]);
        }
        for (int s = 0; s < seqs; s++) {
            KvSequence kv = b.sequence(s);
            int[] table = kv.blockTable();
            int needed = lastPosition[s] < 0 ? 0 : lastPosition[s] / blockSize + 1;
            if (needed > maxBlocks || needed > kv.blockCount()) {
                throw new EngineException("sequence " + s + " of the batch attends to " + needed + " blocks but holds "
                        + kv.blockCount() + " (the device table row has " + maxBlocks + ")");
            }
            for (int i = 0; i < needed; i++) {
                if (table[i] == KvBlockPool.NO_BLOCK) {
                    throw new EngineException("sequence " + s + " of the batch has no block " + i
                            + " for positions its tokens attend to");
                }
                blockTables[s * maxBlocks + i] = table[i];
            }
        }
        for (int r = 0; r < rows; r++) {
            logitRows[r] = b.logitToken(r);
        }
        tokenCount = n;
        seqCount = seqs;
        logitRowCount = rows;
        maxChunks = chunks;
    }

    public int tokenCount() {
        return tokenCount;
    }

    public int sequenceCount() {
        return seqCount;
    }

    public int logitRowCount() {
        return logitRowCount;
    }

    /** The most split-K chunks any token of the batch needs. */
    public int maxChunks() {
        return maxChunks;
    }

    /** Entries of each sequence's block-table row. */
    public int maxBlocks() {
        return maxBlocks;
    }

    public int token(int t) {
        return tokens[t];
    }

    public int position(int t) {
        return positions[t];
    }

    public int tokenSequence(int t) {
        return tokenSeq[t];
    }

    /** Block {@code i} of batch sequence {@code s}, as the kernels read it. */
    public int block(int s, int i) {
        return blockTables[s * maxBlocks + i];
    }

    public int logitRow(int r) {
        return logitRows[r];
    }
}
