/**
 * Output of the serving benchmark.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.report.ConsoleTable}: throughput and latency tables for the console.</li>
 *   <li>{@link dev.baton.bench.serve.report.ProgressBar}: the live progress line and a line per finished point.</li>
 *   <li>{@link dev.baton.bench.serve.report.JsonReport}: configuration, summaries and per-request records as JSON.</li>
 *   <li>{@link dev.baton.bench.serve.report.CsvReport}: {@code summary.csv} and {@code requests.csv}.</li>
 *   <li>{@link dev.baton.bench.serve.report.Charts}: latency CDFs, throughput and goodput against load, the Pareto
 *       frontier (XChart; PNG and SVG).</li>
 *   <li>{@link dev.baton.bench.serve.report.HtmlReport}: one self-contained HTML file with the tables and every chart inline.</li>
 *   <li>{@link dev.baton.bench.serve.report.ReportFiles}: writes all of them into a directory.</li>
 * </ul>
 */
package dev.baton.bench.serve.report;
