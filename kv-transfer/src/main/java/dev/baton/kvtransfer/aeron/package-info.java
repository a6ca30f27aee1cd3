/**
 * The Aeron transport of KV blocks (docs/design.md §5): IPC between processes of one media driver, UDP
 * between hosts (or processes with their own drivers).
 *
 * <ul>
 *   <li>{@link dev.baton.kvtransfer.aeron.AeronKvTransport}: lifecycle of the Aeron client and the
 *       optional embedded media driver; makes senders and receivers.</li>
 *   <li>{@link dev.baton.kvtransfer.aeron.AeronTransportSettings}: the validated settings from
 *       {@code baton.kv-transfer.aeron}.</li>
 *   <li>{@code AeronKvSender} (package-private): begins transfers, writes block chunks with
 *       {@code tryClaim}, reads verdicts, enforces deadlines.</li>
 *   <li>{@code AeronKvReceiver} (package-private): checks begin frames, copies chunks into destination
 *       blocks, verifies CRC32C, replies, enforces deadlines.</li>
 *   <li>{@code Frames} (package-private): frame sizes and limits of the SBE schema inside Aeron frames.</li>
 *   <li>{@code FrameCheck} (package-private): drops a received frame whose lengths run past its end or
 *       whose enum fields are unknown, before a decoder reads it.</li>
 *   <li>{@code RunningCrc32c} (package-private): allocation-free CRC32C over native memory in pieces.</li>
 * </ul>
 */
package dev.baton.kvtransfer.aeron;
