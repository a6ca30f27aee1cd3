package dev.baton.bench.chaos;

import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.metrics.RequestResult;
import dev.baton.bench.serve.workload.Message;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The steady load of {@code bin/baton bench chaos}: streamed requests from a fixed set of prompts (each one's
 * undisturbed text known beforehand), either {@code concurrency} streams back to back (closed loop) or Poisson
 * arrivals at {@code rate} requests per second (open loop), until the load's end; requests still running then
 * are read to their end (each bounded by the client's request timeout). In the closed loop a stream whose request
 * failed waits {@link #BACKOFF_MS} before the next one, as a client would, so that a cluster answering 503 at once
 * is not sent thousands of requests a second. Thread-safe to construct and run once.
 */
public final class ChaosLoad {

    /** The closed loop's pause after a failed request. */
    public static final long BACKOFF_MS = 100;

    /**
     * One request of the load.
     *
     * @param prompt  the index of its prompt
     * @param startMs when it was sent, in ms since the load's start
     * @param result  what the client saw
     */
    public record Outcome(int prompt, long startMs, RequestResult result) {}

    private final OpenAiClient client;
    private final String model;
    private final List<String> prompts;
    private final int maxTokens;
    private final int concurrency;
    private final double rate;
    private final long seed;

    /**
     * @param concurrency streams kept running (closed loop), or 0 with {@code rate}
     * @param rate        requests per second (Poisson), or 0 with {@code concurrency}
     */
    public ChaosLoad(OpenAiClient client, String model, List<String> prompts, int maxTokens, int concurrency, double rate,
            long seed) {
        if ((concurrency > 0) == (rate > 0) || concurrency < 0 || rate < 0 || !Double.isFinite(rate)) {
            throw new IllegalArgumentException("give either a concurrency or a rate above 0, got concurrency " + concurrency
                    + " and rate " + rate);
        }
        if (prompts.isEmpty() || maxTokens < 1) {
            throw new IllegalArgumentException("need prompts and max tokens >= 1, got " + prompts.size() + " and " + maxTokens);
        }
        this.client = client;
        this.model = model;
        this.prompts = List.copyOf(prompts);
        this.maxTokens = maxTokens;
        this.concurrency = concurrency;
        this.rate = rate;
        this.seed = seed;
    }

    /**
     * Runs the load from {@code startNs} ({@link System#nanoTime()}) for {@code durationMs}; returns every request
     * in the order they ended.
     */
    public List<Outcome> run(long startNs, long durationMs) throws InterruptedException {
        long endNs = startNs + TimeUnit.MILLISECONDS.toNanos(durationMs);
        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            if (concurrency > 0) {
                for (int c = 0; c < concurrency; c++) {
                    threads.submit(() -> {
                        while (System.nanoTime() < endNs) {
                            Outcome o = send(next.getAndIncrement() % prompts.size(), startNs);
                            outcomes.add(o);
                            if (!o.result().ok()) {
                                Thread.sleep(BACKOFF_MS);
                            }
                        }
                        return null;
                    });
                }
            } else {
                SplittableRandom rng = new SplittableRandom(seed);
                long atNs = startNs;
                while (true) {
                    atNs += (long) (-Math.log(1 - rng.nextDouble()) / rate * 1e9);
                    if (atNs >= endNs) {
                        break;
                    }
                    long waitNs = atNs - System.nanoTime();
                    if (waitNs > 0) {
                        TimeUnit.NANOSECONDS.sleep(waitNs);
                    }
                    int prompt = next.getAndIncrement() % prompts.size();
                    threads.submit(() -> outcomes.add(send(prompt, startNs)));
                }
            }
        }
        return List.copyOf(outcomes);
    }

    private Outcome send(int prompt, long startNs) {
        long sentMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        return new Outcome(prompt, sentMs, client.send(model, List.of(new Message("user", prompts.get(prompt))), maxTokens));
    }
}
