package dev.baton.decode;

import dev.baton.common.BlockHash;
import dev.baton.common.TransferId;
import dev.baton.engine.sched.KvImport;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.ReceivedTransfer;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The decode node's side of kv-transfer: maps each expected transfer to the {@link KvImport} whose
 * reserved blocks receive it, lends them when the transfer begins, and gives them back verified
 * (every full block's hash equal to the hash of the same prompt block computed here, every block at
 * its position) or failed. A transfer carries the prompt's blocks from the ticket's
 * {@link KvImport#firstBlock() first block} on: the blocks before it are held here already. Called on the receiver's duty-cycle thread, except {@link #expect} and
 * {@link #forget}, which any thread may call.
 */
final class KvIntake implements KvTransferListener {

    private static final Logger LOG = LoggerFactory.getLogger(KvIntake.class);

    /** One expected transfer: the reservation and the hashes its full blocks must carry. */
    record Expected(KvImport ticket, BlockHash[] hashes, int blockSize, int blockBytes) {}

    private final Map<TransferId, Expected> expected = new ConcurrentHashMap<>();
    private volatile KvReceiver receiver;

    void attach(KvReceiver receiver) {
        this.receiver = receiver;
    }

    void expect(TransferId id, Expected e) {
        expected.put(id, e);
    }

    void forget(TransferId id) {
        expected.remove(id);
    }

    /** Asks the receiver to stop transfer {@code id}; its blocks come back through {@link #onCancelled}. */
    void cancel(TransferId id) {
        KvReceiver r = receiver;
        if (r == null || !r.cancel(id)) {
            LOG.warn("could not queue the cancel of {}; its deadline will end it", id);
        }
    }

    int expectedCount() {
        return expected.size();
    }

    @Override
    public MemorySegment[] onBegin(TransferId id, long destinationTag, int blockCount, int blockBytes) {
        Expected e = expected.get(id);
        if (e == null) {
            LOG.warn("refusing {}: no reservation on this node (cancelled or timed out)", id);
            return null;
        }
        if (blockCount != e.ticket().blockCount() || blockBytes != e.blockBytes()) {
            LOG.warn("refusing {}: {} blocks of {} B, the reservation holds {} of {} B", id, blockCount, blockBytes,
                    e.ticket().blockCount(), e.blockBytes());
            return null;
        }
        return e.ticket().lend();
    }

    @Override
    public void onComplete(ReceivedTransfer t) {
        Expected e = expected.remove(t.id());
        if (e == null) {
            return;
        }
        String why = verify(t, e);
        e.ticket().giveBack(why == null, why);
    }

    /** Transfer block {@code i} must be prompt block {@code first + i}: its position and, when full, its hash. */
    private static String verify(ReceivedTransfer t, Expected e) {
        int first = e.ticket().firstBlock();
        for (int i = 0; i < t.blockCount(); i++) {
            int block = first + i;
            if (t.firstPosition(i) != block * e.blockSize()) {
                return "block " + i + " arrived for position " + t.firstPosition(i) + ", expected "
                        + block * e.blockSize() + " (prompt block " + block + ")";
            }
            if (block < e.hashes().length && !e.hashes()[block].equals(t.blockHash(i))) {
                return "block " + i + " has hash " + t.blockHash(i) + " but the prompt's block " + block + " hashes to "
                        + e.hashes()[block] + " (the prefill node computed another prompt or model)";
            }
        }
        return null;
    }

    @Override
    public void onFailed(ReceivedTransfer t, KvFailure failure, String reason) {
        Expected e = expected.remove(t.id());
        if (e != null) {
            e.ticket().giveBack(false, failure.tag() + ": " + reason);
        }
    }

    @Override
    public void onCancelled(ReceivedTransfer t, String reason) {
        Expected e = expected.remove(t.id());
        if (e != null) {
            e.ticket().giveBack(false, "cancelled: " + reason);
        }
    }
}
