package dev.baton.kvtransfer;

import dev.baton.common.TransferId;
import org.agrona.concurrent.Agent;

/**
 * The receiving side of KV transfers on one channel and stream: many transfers from many senders
 * interleave here. Each begin frame is checked against the local compatibility tuple before a byte
 * is accepted; an accepted transfer's blocks are written straight into the destination segments its
 * {@link KvTransferListener} handed out, and the listener hears exactly once how it ended.
 *
 * <h2>Threading</h2>
 * {@link #doWork()} (the duty cycle: poll frames, check deadlines) and {@link #close()} are called by
 * one thread, usually an {@link org.agrona.concurrent.AgentRunner}; the listener is called on it.
 * {@link #cancel} may be called from any thread: it is queued for the duty cycle.
 *
 * <h2>Dropped frames</h2>
 * Frames of finished transfers (late or duplicate) and of unknown transfers are dropped and counted
 * ({@code baton.kv.transfer.frames.dropped}); they never touch a destination.
 */
public interface KvReceiver extends Agent, AutoCloseable {

    /**
     * Asks the duty cycle to cancel transfer {@code id}: the sender is told and the listener's
     * {@link KvTransferListener#onCancelled} returns the blocks. Thread-safe; a no-op if the transfer
     * has already ended.
     *
     * @return false if the request queue is full (try again)
     */
    boolean cancel(TransferId id);

    /** Transfers accepted and not yet ended. Read on the duty-cycle thread. */
    int inFlight();

    /**
     * One duty cycle: polls frames, retries pending verdicts, runs queued cancels and fails transfers past their deadline. Throws nothing.
     *
     * @return the work done (0 when idle, for the idle strategy)
     */
    @Override
    int doWork();

    /** Fails every transfer in flight with {@link KvFailure#CLOSED}, returning its blocks. Idempotent. */
    @Override
    void close();
}
