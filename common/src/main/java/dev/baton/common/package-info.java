/**
 * Types every module shares: id records, the one {@link dev.baton.common.BlockHasher} (DESIGN.md §6),
 * settings records, and (with the kv-transfer issue) the SBE wire schemas and KV event types.
 *
 * <ul>
 *   <li>{@link dev.baton.common.BlockHasher}: the only definition of the chained KV block hash.</li>
 *   <li>{@link dev.baton.common.BlockHash}: one block's 128-bit hash.</li>
 *   <li>{@link dev.baton.common.ModelFingerprint}: a 128-bit digest of a model file, the root of every chain.</li>
 *   <li>{@link dev.baton.common.RequestId}, {@link dev.baton.common.TransferId},
 *       {@link dev.baton.common.NodeId}: typed ids.</li>
 *   <li>{@code Xxh3}, {@code Hex}, {@code LittleEndian} (package-private): XXH3-128 over arrays and
 *       segments; the hex form; little-endian stores.</li>
 * </ul>
 */
package dev.baton.common;
