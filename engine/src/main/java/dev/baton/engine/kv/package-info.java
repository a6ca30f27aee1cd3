/**
 * The paged KV cache.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.kv.KvCacheSpec}: block geometry and the byte layout of a block.</li>
 *   <li>{@link dev.baton.engine.kv.KvBlockPool}: the fixed, refcounted, off-heap block pool, and the prefix-cache
 *       operations (publish, claim, match, abandon) that take and keep references.</li>
 *   <li>{@link dev.baton.engine.kv.PrefixCache}: the pool's prefix cache: block hash to block, block states
 *       (pending, ready, abandoned), eviction order, counters and the eviction hook.</li>
 *   <li>{@link dev.baton.engine.kv.KvEventListener}: hears blocks become cached (Stored), evicted (Removed) and the
 *       cache cleared: the events the cluster's KV index is built from.</li>
 *   <li>{@link dev.baton.engine.kv.KvTier}: a second store of blocks under the pool (the host tier), which evicted
 *       blocks spill to and prompt blocks are read back from.</li>
 *   <li>{@code BlockHashIndex} (package-private): the allocation-free open-addressing map from block hash to block.</li>
 *   <li>{@link dev.baton.engine.kv.KvSequence}: one sequence's block table and length (with holes where a shared block it
 *       waited for was abandoned).</li>
 *   <li>{@link dev.baton.engine.kv.KvSnapshot}: a sequence's KV exported with its compatibility tuple, and imported.</li>
 *   <li>{@link dev.baton.engine.kv.KvPoolExhaustedException}, {@link dev.baton.engine.kv.KvIncompatibleException}: typed errors.</li>
 * </ul>
 */
package dev.baton.engine.kv;
