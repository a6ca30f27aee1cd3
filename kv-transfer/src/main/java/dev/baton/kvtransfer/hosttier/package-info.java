/**
 * The host tier: KV blocks in shared memory (a memory-mapped slab plus a Chronicle Map index) shared by
 * every node process on a host, bounded in bytes, with eviction; a same-host transport and the store
 * prefix reuse reads from (docs/design.md §5, §6).
 *
 * <ul>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostTier}: open, put, get, claim, remove, stats; the protocol.</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostTierSettings}: directory, name, capacity, block bytes,
 *       compatibility; read from {@code baton.kv-transfer.host-tier}.</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostTierClaim}: a slot held for writing a block in place.</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.PutResult}, {@link dev.baton.kvtransfer.hosttier.GetResult}:
 *       the return codes.</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostTierStats}: a snapshot of tier-wide and per-handle figures.</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostPrefixIndex}: which hashes are present (the host prefix index).</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostTierMetrics}: Micrometer meters over the stats.</li>
 *   <li>{@link dev.baton.kvtransfer.hosttier.HostTierException}: misconfiguration and I/O failures at open.</li>
 *   <li>{@code Slab} (package-private): the slab file's layout, with its ASCII diagram, and the slot state words.</li>
 *   <li>{@code HostTierIndex} (package-private): the Chronicle Map from block hash to slot.</li>
 * </ul>
 */
package dev.baton.kvtransfer.hosttier;
