/**
 * The prefill role: Pekko membership and actors around a batched, chunked prefill loop that ships
 * KV blocks to decode nodes.
 *
 * <ul>
 *   <li>{@code PrefillNode}: the node actor; its {@code Shipping} holds the sender.</li>
 *   <li>{@code KvShipper}: on the loop thread, ships each prompt's blocks (each chunk's finished blocks
 *       while the prompt is computed, with {@code baton.prefill.stream-kv}) and frees them.</li>
 *   <li>{@code PrefillSettings}: {@code baton.prefill}, parsed once.</li>
 * </ul>
 */
package dev.baton.prefill;
