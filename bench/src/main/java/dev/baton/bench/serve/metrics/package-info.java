/**
 * Metric definitions and their summaries for the serving benchmark: pure functions, exact and tested on
 * constructed time stamps.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.metrics.RequestResult}: one request's raw client-side time stamps.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.RequestMetrics}: TTFT, ITL, E2E, TPOT and output tokens from the stamps.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.RequestRecord}: the derived per-request row (JSON, CSV).</li>
 *   <li>{@link dev.baton.bench.serve.metrics.Usage}: the server's token counts, cached prompt tokens included.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.ErrorKind}: why a request failed, and its summary label.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.Slo}: objectives for goodput, parsed from {@code ttft=500ms,tpot=50ms}.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.Percentiles}: numpy's linear-interpolation percentiles.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.Stats}: count, mean, std, min, median, p90, p99, max.</li>
 *   <li>{@link dev.baton.bench.serve.metrics.Summarizer}: a load point's {@link dev.baton.bench.serve.metrics.PointSummary}
 *       (throughput, goodput, errors, latency statistics).</li>
 *   <li>{@link dev.baton.bench.serve.metrics.Pareto}: the frontier of tokens/s per node against tokens/s per user.</li>
 * </ul>
 */
package dev.baton.bench.serve.metrics;
