package dev.baton.kvtransfer;

import dev.baton.common.BlockHash;
import dev.baton.common.TransferId;
import java.lang.foreign.MemorySegment;

/**
 * A read-only view of one transfer handed to a {@link KvTransferListener}. A flyweight: the receiver
 * reuses it, so it is valid only during the callback; copy what must outlive it.
 */
public interface ReceivedTransfer {

    TransferId id();

    /** The sender's opaque tag from the begin frame. */
    long destinationTag();

    int blockCount();

    /** The destination segments, as returned by {@link KvTransferListener#onBegin}. */
    MemorySegment[] blocks();

    /** Whether every part of block {@code index} arrived and verified. */
    boolean isBlockComplete(int index);

    /** The hash of block {@code index} as sent; meaningful once the block is complete. */
    BlockHash blockHash(int index);

    /** The sequence position of block {@code index}'s first slot, as sent. */
    int firstPosition(int index);

    /** Payload bytes received and verified so far. */
    long bytesReceived();
}
