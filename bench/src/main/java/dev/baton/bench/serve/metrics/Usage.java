package dev.baton.bench.serve.metrics;

/**
 * The {@code usage} object of a response: prompt and completion tokens as the server counted them, and
 * {@code prompt_tokens_details.cached_tokens} ({@code -1} when the server did not report it).
 */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {}
