/**
 * Offering load: when requests are sent.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.load.LoadSpec}: a rate (Poisson or gamma arrivals) or a number of concurrent clients.</li>
 *   <li>{@link dev.baton.bench.serve.load.ArrivalSchedule}: seeded, precomputed arrival offsets.</li>
 *   <li>{@link dev.baton.bench.serve.load.LoadRunner}: runs one load point against one target, bounded by
 *       request count and duration, and collects the results.</li>
 * </ul>
 */
package dev.baton.bench.serve.load;
