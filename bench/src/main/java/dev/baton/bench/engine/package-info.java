/**
 * Engine speed benchmarks ({@code bin/baton bench engine}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.engine.EngineBenchmark}: prompt, single-stream and batched decode tokens/s.</li>
 * </ul>
 */
package dev.baton.bench.engine;
