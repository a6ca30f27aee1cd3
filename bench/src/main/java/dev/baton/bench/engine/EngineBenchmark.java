package dev.baton.bench.engine;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.step.StepBatch;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Engine throughput on one model, the way llama-bench measures it: prompt processing of
 * {@code promptTokens} tokens in one sequence (pp512), single-stream decode of {@code decodeTokens}
 * tokens (tg128), and batched decode of 8 and 32 sequences (one token of each per step).
 *
 * <p>Token ids are random (seeded): speed does not depend on them. Each figure is the best of
 * {@code repetitions} runs after one warm-up run. Results are tokens per second.
 */
public final class EngineBenchmark {

    /** One measured configuration. */
    public record Row(String model, String weights, int threads, double promptTokensPerSecond,
            double decodeTokensPerSecond, double batch8TokensPerSecond, double batch32TokensPerSecond) {}

    private final int promptTokens;
    private final int decodeTokens;
    private final int repetitions;

    private final String backend;
    private final int device;
    private String lastBackend = "";

    public EngineBenchmark(int promptTokens, int decodeTokens, int repetitions) {
        this(promptTokens, decodeTokens, repetitions, EngineSettings.CPU, 0);
    }

    /** On {@code backend} ({@code cpu}, {@code cuda} on GPU {@code device}). */
    public EngineBenchmark(int promptTokens, int decodeTokens, int repetitions, String backend, int device) {
        this.promptTokens = promptTokens;
        this.decodeTokens = decodeTokens;
        this.repetitions = repetitions;
        this.backend = backend;
        this.device = device;
    }

    public Row run(Path model, int threads) throws IOException {
        EngineSettings s = EngineSettings.defaults(model).withThreads(threads).withKvCacheBytes(1L << 30)
                .withBatch(Math.max(promptTokens, 32), 32).withBackend(backend, device);
        try (Engine e = Engine.open(s)) {
            lastBackend = e.forward().describe();
            String weights = e.file().tensor("blk.0.attn_q.weight").type().name();
            double pp = best(() -> prompt(e));
            double tg = best(() -> decode(e, 1));
            double b8 = best(() -> decode(e, 8));
            double b32 = best(() -> decode(e, 32));
            return new Row(model.getFileName().toString(), weights, threads, pp, tg, b8, b32);
        }
    }

    private interface Measure {
        double run();
    }

    private double best(Measure m) {
        m.run();
        double best = 0;
        for (int i = 0; i < repetitions; i++) {
            best = Math.max(best, m.run());
        }
        return best;
    }

    private int[] randomTokens(Engine e, long seed, int n) {
        return new SplittableRandom(seed).ints(n, 0, e.config().vocabSize()).toArray();
    }

    /** Prompt tokens per second for one sequence of {@code promptTokens} tokens in one step. */
    private double prompt(Engine e) {
        int[] tokens = randomTokens(e, 1, promptTokens);
        KvSequence seq = e.newSequence();
        StepBatch b = e.newBatch();
        try {
            long t0 = System.nanoTime();
            b.clear();
            b.add(seq, tokens, 0, tokens.length, true);
            e.forward().step(b);
            return tokens.length * 1e9 / (System.nanoTime() - t0);
        } finally {
            seq.free();
        }
    }

    /** Decode tokens per second over {@code sequences} sequences, each fed {@code decodeTokens} tokens one at a time. */
    private double decode(Engine e, int sequences) {
        int steps = sequences == 1 ? decodeTokens : Math.max(16, decodeTokens / 2);
        KvSequence[] seqs = new KvSequence[sequences];
        int[][] tokens = new int[sequences][];
        StepBatch b = e.newBatch();
        try {
            for (int i = 0; i < sequences; i++) {
                seqs[i] = e.newSequence();
                tokens[i] = randomTokens(e, 100 + i, steps + 1);
                b.clear();
                b.add(seqs[i], tokens[i], 0, 1, true);
                e.forward().step(b);
            }
            long t0 = System.nanoTime();
            for (int step = 1; step <= steps; step++) {
                b.clear();
                for (int i = 0; i < sequences; i++) {
                    b.add(seqs[i], tokens[i], step, step + 1, true);
                }
                e.forward().step(b);
            }
            return (double) steps * sequences * 1e9 / (System.nanoTime() - t0);
        } finally {
            for (KvSequence s : seqs) {
                if (s != null) {
                    s.free();
                }
            }
        }
    }

    /** Runs every model at every thread count. */
    public List<Row> runAll(List<Path> models, List<Integer> threadCounts, PrintStream progress) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (Path m : models) {
            for (int t : threadCounts) {
                progress.printf("baton bench engine: %s, %d thread(s)...%n", m.getFileName(), t);
                rows.add(run(m, t));
                progress.printf("  on %s%n", lastBackend);
            }
        }
        return rows;
    }

    /** A Markdown table of the rows. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | weights | threads | prompt tok/s (pp").append(") | decode tok/s (1 seq) | decode tok/s (8 seqs) | decode tok/s (32 seqs) |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format("| %s | %s | %d | %,.0f | %,.0f | %,.0f | %,.0f |%n", r.model(), r.weights(), r.threads(),
                    r.promptTokensPerSecond(), r.decodeTokensPerSecond(), r.batch8TokensPerSecond(),
                    r.batch32TokensPerSecond()));
        }
        return sb.toString();
    }
}
