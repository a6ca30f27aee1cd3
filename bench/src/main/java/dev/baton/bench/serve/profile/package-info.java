/**
 * Capacity profiles for the SLO planner ({@code bin/baton bench profile}).
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.profile.Profiler}: measures TTFT against prompt length and ITL against
 *       concurrency and context length on one target.</li>
 *   <li>{@link dev.baton.bench.serve.profile.ProfileSettings}: the lengths, concurrencies and request counts to measure.</li>
 *   <li>{@link dev.baton.bench.serve.profile.Profile}: the result, saved as JSON.</li>
 * </ul>
 */
package dev.baton.bench.serve.profile;
