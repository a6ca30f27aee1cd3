package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reservation of a request whose prompt KV arrives from another node: the segments of the
 * reserved blocks that must receive it, and who holds them.
 *
 * <pre>
 *   OPEN --lend()--> LENT --giveBack(ok | failed)--> RETURNED
 *   OPEN --(loop cancels)--> REVOKED            (lend() then refuses)
 * </pre>
 * A transport {@link #lend lends} the segments when the transfer begins and gives them back exactly
 * once when it ends; the loop frees the blocks only while nobody else holds them, so a cancelled
 * request's blocks are never reused while a transport may still write into them.
 *
 * <p>Thread-safe: {@link #lend} and {@link #giveBack} may be called from a transport's thread.
 */
public final class KvImport {

    private static final int OPEN = 0;
    private static final int LENT = 1;
    private static final int RETURNED = 2;
    private static final int REVOKED = 3;

    private final RequestId id;
    private final int promptLength;
    private final int firstBlock;
    private final MemorySegment[] segments;
    private final EngineLoop loop;
    private final AtomicInteger state = new AtomicInteger(OPEN);

    KvImport(RequestId id, int promptLength, int firstBlock, MemorySegment[] segments, EngineLoop loop) {
        this.id = id;
        this.promptLength = promptLength;
        this.firstBlock = firstBlock;
        this.segments = segments;
        this.loop = loop;
    }

    public RequestId requestId() {
        return id;
    }

    /** Positions of KV to import: the prompt's. */
    public int promptLength() {
        return promptLength;
    }

    /**
     * The prompt's leading blocks this node holds already (from its prefix cache or its second tier):
     * the import starts at prompt block {@code firstBlock()}. Always less than the prompt's block count,
     * so at least the block of the last prompt position is imported.
     */
    public int firstBlock() {
        return firstBlock;
    }

    /**
     * Blocks to import: the prompt's from {@link #firstBlock()} on, the last possibly partly filled.
     * Element {@code i} of {@link #lend()} receives prompt block {@code firstBlock() + i}.
     */
    public int blockCount() {
        return segments.length;
    }

    /**
     * Hands the destination segments to a transport (block {@code i} of the transfer, which is prompt
     * block {@code firstBlock() + i}, into element {@code i}). Returns null if the request was cancelled or the segments are already lent.
     */
    public MemorySegment[] lend() {
        return state.compareAndSet(OPEN, LENT) ? segments : null;
    }

    /**
     * The transport is done with the segments: {@code ok} when every block arrived and verified
     * (the request may then be admitted once its first token is handed over), otherwise
     * {@code reason} says why (the request fails). Only the first call after {@link #lend} counts.
     */
    public void giveBack(boolean ok, String reason) {
        if (state.compareAndSet(LENT, RETURNED)) {
            loop.imported(id, this, ok, reason);
        }
    }

    /** Loop thread: takes the segments back if nobody holds them; false if a transport does. */
    boolean revoke() {
        return state.compareAndSet(OPEN, REVOKED) || state.get() == RETURNED || state.get() == REVOKED;
    }
}
