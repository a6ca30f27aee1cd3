/**
 * The chaos benchmark ({@code bin/baton bench chaos}): a steady streamed load while engine nodes are killed or
 * frozen, and what it showed.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.chaos.ChaosLoad}: the load (closed loop or Poisson arrivals) over a fixed set of prompts.</li>
 *   <li>{@link dev.baton.bench.chaos.StreamCheck}: one stream's text against the undisturbed text (gap, repeat), pure.</li>
 *   <li>{@link dev.baton.bench.chaos.Recovery}: the time until the streamed rate is back after a fault, pure.</li>
 *   <li>{@link dev.baton.bench.chaos.ChaosReport}: the report (results.json and the console table).</li>
 * </ul>
 *
 * <p>Starting, killing and replacing the node processes is the command's part ({@code dev.baton.cli.ChaosCommand}).
 */
package dev.baton.bench.chaos;
