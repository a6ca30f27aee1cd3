/**
 * Workloads of the serving benchmark: what is sent, built ahead of the run from a seed.
 *
 * <ul>
 *   <li>{@link dev.baton.bench.serve.workload.Workload}: the sealed set of workloads; each makes {@link dev.baton.bench.serve.workload.Session}s.</li>
 *   <li>{@link dev.baton.bench.serve.workload.RandomWorkload}: independent prompts with distributed input and output lengths.</li>
 *   <li>{@link dev.baton.bench.serve.workload.SharedPrefixWorkload}: N tenants, each with one system prompt, and fresh user prompts.</li>
 *   <li>{@link dev.baton.bench.serve.workload.MultiTurnWorkload}: chat sessions whose turns carry the history.</li>
 *   <li>{@link dev.baton.bench.serve.workload.JsonlWorkload}: prompts or message lists from a JSONL file.</li>
 *   <li>{@link dev.baton.bench.serve.workload.Session}, {@link dev.baton.bench.serve.workload.Turn},
 *       {@link dev.baton.bench.serve.workload.Message}: a conversation, one request of it, one message.</li>
 *   <li>{@link dev.baton.bench.serve.workload.LengthDistribution}: fixed, uniform, normal and log-normal token lengths.</li>
 *   <li>{@link dev.baton.bench.serve.workload.PromptText}: prompt text of a length in tokens;
 *       {@link dev.baton.bench.serve.workload.TokenExactPrompts} exact with a model's tokenizer,
 *       {@link dev.baton.bench.serve.workload.ApproximatePrompts} about a token a word without one.</li>
 *   <li>{@link dev.baton.bench.serve.workload.Api}: completions or chat completions.</li>
 * </ul>
 */
package dev.baton.bench.serve.workload;
