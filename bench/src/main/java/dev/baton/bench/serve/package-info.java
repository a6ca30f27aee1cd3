/**
 * The serving benchmark ({@code bin/baton bench serve}): load one or more OpenAI-compatible endpoints and
 * measure TTFT, TPOT, ITL, end-to-end latency, throughput and goodput over a sweep of load points.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.ServeBenchmark}: runs the sweep against every target in turn.</li>
 *   <li>{@link dev.baton.bench.serve.ServeSettings}: the validated settings of a run.</li>
 *   <li>{@link dev.baton.bench.serve.ServeReport}, {@link dev.baton.bench.serve.TargetResult},
 *       {@link dev.baton.bench.serve.PointResult}: what a run produced.</li>
 *   <li>{@link dev.baton.bench.serve.Progress}: what a run reports while it goes.</li>
 * </ul>
 *
 * <p>Subpackages: {@code workload} (what is sent), {@code load} (when), {@code client} (HTTP and SSE),
 * {@code metrics} (the definitions, pure), {@code report} (console, JSON, CSV, charts, HTML), {@code profile}
 * (per-node capacity for the planner) and {@code overload} (a cluster at capacity, overloaded, then at capacity).
 */
package dev.baton.bench.serve;
