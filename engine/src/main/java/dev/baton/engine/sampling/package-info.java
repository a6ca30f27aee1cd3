/**
 * Choosing tokens and deciding when a sequence ends.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.sampling.SamplingParams}: a request's sampling settings, their defaults and ranges.</li>
 *   <li>{@link dev.baton.engine.sampling.InvalidSamplingParamsException}: a setting out of range, naming the field.</li>
 *   <li>{@link dev.baton.engine.sampling.Sampler}: penalties, greedy or top-k / top-p / min-p / temperature, seeded draw; one per sequence.</li>
 *   <li>{@code SamplingKernels} (package-private): the vectorized vocabulary-wide loops of the sampler.</li>
 *   <li>{@link dev.baton.engine.sampling.TokenLogprobs}: the sampled token's logprob and the top n, reused per call.</li>
 *   <li>{@link dev.baton.engine.sampling.StopChecker}: stop tokens, stop strings with held-back text, max tokens.</li>
 *   <li>{@link dev.baton.engine.sampling.FinishReason}: {@code stop} or {@code length}.</li>
 * </ul>
 */
package dev.baton.engine.sampling;
