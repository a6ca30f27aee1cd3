/**
 * Types every module shares: id records, the one {@link dev.baton.common.BlockHasher} (docs/design.md §6),
 * the SBE wire schemas and codecs, and (in {@code protocol}) the messages that cross nodes.
 *
 * <ul>
 *   <li>{@link dev.baton.common.BlockHasher}: the only definition of the chained KV block hash.</li>
 *   <li>{@link dev.baton.common.BlockHash}: one block's 128-bit hash.</li>
 *   <li>{@link dev.baton.common.ModelFingerprint}: a 128-bit digest of a model file, the root of every chain.</li>
 *   <li>{@link dev.baton.common.RequestId}, {@link dev.baton.common.TransferId},
 *       {@link dev.baton.common.NodeId}: typed ids.</li>
 *   <li>{@code dev.baton.common.sbe} (generated at build time from {@code src/main/resources/sbe/kv-transfer.xml}):
 *       the SBE codecs of the KV transfer protocol (Begin, Block, End, Ack, Cancel; docs/design.md §5).</li>
 *   <li>{@link dev.baton.common.KvCompatibility}: the compatibility tuple a KV receiver checks.</li>
 *   <li>{@code Xxh3}, {@code Hex}, {@code LittleEndian} (package-private): XXH3-128 over arrays and
 *       segments; the hex form; little-endian stores.</li>
 * </ul>
 */
package dev.baton.common;
