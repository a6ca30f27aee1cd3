/**
 * KV transfer benchmarks ({@code bin/baton bench transfer}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.transfer.TransferBenchmark}: throughput and per-transfer latency of each
 *       kv-transfer transport by block size and blocks per transfer, next to a plain memory copy.</li>
 *   <li>{@link dev.baton.bench.transfer.HostTierBenchmark}: host tier put + get throughput and latency
 *       next to a plain memory copy of the same blocks.</li>
 * </ul>
 */
package dev.baton.bench.transfer;
