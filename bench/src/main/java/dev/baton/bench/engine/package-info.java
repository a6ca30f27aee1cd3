/**
 * Engine speed benchmarks ({@code bin/baton bench engine}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.engine.EngineBenchmark}: prompt, single-stream and batched decode tokens/s.</li>
 *   <li>{@link dev.baton.bench.engine.LongContextBenchmark}: single-stream decode at a long context, thread counts alternating ({@code --context N}).</li>
 * </ul>
 */
package dev.baton.bench.engine;
