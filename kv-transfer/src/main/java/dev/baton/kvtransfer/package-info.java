/**
 * Moving KV blocks between processes (docs/design.md §5), by role: a {@link dev.baton.kvtransfer.KvSender}
 * on the node that computed the blocks, a {@link dev.baton.kvtransfer.KvReceiver} on the node that
 * needs them, made by a {@link dev.baton.kvtransfer.KvTransport}. No Pekko and no engine here: the
 * caller hands in and receives plain {@link java.lang.foreign.MemorySegment}s. The Chronicle Map host
 * tier lives in {@code dev.baton.kvtransfer.hosttier}, the Aeron transport in
 * {@code dev.baton.kvtransfer.aeron}.
 *
 * <ul>
 *   <li>{@link dev.baton.kvtransfer.KvTransport}: makes senders and receivers of one transport.</li>
 *   <li>{@link dev.baton.kvtransfer.KvSender}: begin, offer block parts, end, cancel; a duty-cycle agent.</li>
 *   <li>{@link dev.baton.kvtransfer.KvSendListener}: how a sent transfer ended.</li>
 *   <li>{@link dev.baton.kvtransfer.KvReceiver}: accepts transfers on one channel; a duty-cycle agent.</li>
 *   <li>{@link dev.baton.kvtransfer.KvTransferListener}: supplies destination blocks, hears how a
 *       received transfer ended and gets the blocks back.</li>
 *   <li>{@link dev.baton.kvtransfer.ReceivedTransfer}: the flyweight view of a received transfer.</li>
 *   <li>{@link dev.baton.kvtransfer.KvDestination}: a receiver's channel and stream.</li>
 *   <li>{@link dev.baton.kvtransfer.SendResult}: the return codes of the send path (back-pressure included).</li>
 *   <li>{@link dev.baton.kvtransfer.KvFailure}: why a transfer failed.</li>
 *   <li>{@link dev.baton.kvtransfer.KvTransferMetrics}: the Micrometer meters of one side of a transport.</li>
 *   <li>{@link dev.baton.kvtransfer.KvTransferException}: a setting or argument out of its limits.</li>
 * </ul>
 */
package dev.baton.kvtransfer;
