/**
 * Engine speed benchmarks ({@code bin/baton bench engine}, {@code bin/baton bench spec}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.engine.EngineBenchmark}: prompt, single-stream and batched decode tokens/s.</li>
 *   <li>{@link dev.baton.bench.engine.SpeculationBenchmark}: single-stream decode with speculative decoding
 *       (off, prompt lookup, the target's own answer as the draft).</li>
 *   <li>{@link dev.baton.bench.engine.LongContextBenchmark}: single-stream decode at a long context, thread counts alternating ({@code --context N}).</li>
 * </ul>
 */
package dev.baton.bench.engine;
