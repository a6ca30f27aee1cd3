/**
 * The paged KV cache.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.kv.KvCacheSpec}: block geometry and the byte layout of a block.</li>
 *   <li>{@link dev.baton.engine.kv.KvBlockPool}: the fixed, refcounted, off-heap block pool.</li>
 *   <li>{@link dev.baton.engine.kv.KvSequence}: one sequence's block table and length.</li>
 *   <li>{@link dev.baton.engine.kv.KvSnapshot}: a sequence's KV exported with its compatibility tuple, and imported.</li>
 *   <li>{@link dev.baton.engine.kv.KvPoolExhaustedException}, {@link dev.baton.engine.kv.KvIncompatibleException}: typed errors.</li>
 * </ul>
 */
package dev.baton.engine.kv;
