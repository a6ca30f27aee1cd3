/**
 * The SLO planner in simulation ({@code bin/baton bench trace}, {@code bin/baton bench simulate}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.plan.TraceGenerator}: seeded request traces (steady, diurnal, bursts; balanced,
 *       prompt-heavy, decode-heavy and prefix-heavy mixes), sized from a capacity profile.</li>
 *   <li>{@link dev.baton.bench.plan.ClusterSimulator}: a discrete-event model of a prefill and a decode pool behind
 *       the router, with the planner in the loop or a fixed allocation.</li>
 *   <li>{@link dev.baton.bench.plan.Simulation}: the planner against fixed allocations on a trace, and the report
 *       (JSON, CSV, a chart per trace).</li>
 * </ul>
 */
package dev.baton.bench.plan;
