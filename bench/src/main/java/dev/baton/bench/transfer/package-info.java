/**
 * KV transfer speed benchmarks ({@code bin/baton bench transfer}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.transfer.HostTierBenchmark}: host tier put + get throughput and latency
 *       next to a plain memory copy of the same blocks.</li>
 * </ul>
 */
package dev.baton.bench.transfer;
