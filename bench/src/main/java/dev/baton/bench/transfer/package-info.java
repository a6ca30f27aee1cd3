/**
 * KV transfer benchmarks ({@code bin/baton bench transfer}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.transfer.TransferBenchmark}: throughput and per-transfer latency of each
 *       kv-transfer transport by block size and blocks per transfer, next to a plain memory copy.</li>
 * </ul>
 */
package dev.baton.bench.transfer;
