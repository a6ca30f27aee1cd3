/**
 * The overload benchmark ({@code bin/baton bench overload}): a cluster at the load it can hold, then at a multiple
 * of it, then at it again; goodput of admitted requests, refusals and their latency, prompt tokens computed for
 * admitted requests only, memory, and recovery.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.overload.OverloadBenchmark}: runs the phases (each a serving benchmark load point).</li>
 *   <li>{@link dev.baton.bench.serve.overload.OverloadSettings}: the validated settings of a run.</li>
 *   <li>{@link dev.baton.bench.serve.overload.PhaseStats}: one phase split into admitted, refused and other answers (pure).</li>
 *   <li>{@link dev.baton.bench.serve.overload.OverloadReport}: ratios and goals of a run (pure).</li>
 *   <li>{@link dev.baton.bench.serve.overload.ClusterProbe}: the nodes' prefill counters and the processes' memory.</li>
 *   <li>{@link dev.baton.bench.serve.overload.OverloadFiles}: the table and {@code results.json}.</li>
 * </ul>
 */
package dev.baton.bench.serve.overload;
