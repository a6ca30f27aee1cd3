package dev.baton.bench.engine;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.gguf.GgufWriter;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.step.StepBatch;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Single-stream decode at a long context ({@code bin/baton bench engine --context N}): one sequence holds
 * {@code context} tokens of KV, and each measured step decodes the token at position {@code context}
 * (the sequence is rewound to {@code context} before each step, so every step attends over the same
 * {@code context + 1} positions). This is where the attention's split over the KV positions
 * (docs/design.md §4, "Split-K attention") shows: with one sequence there are only as many (token, head)
 * units as heads.
 *
 * <p>One engine per thread count, all open at once; the measured runs alternate between them
 * (1, 2, 1, 2, ...), so a machine whose load changes during the run affects every thread count alike.
 * Each figure is the best of {@code repetitions} runs of {@code steps} steps after one warm-up run; the
 * ratio is to the first thread count of the list.
 */
public final class LongContextBenchmark {

    /** One model at one thread count. */
    public record Row(String model, String weights, int heads, int context, int threads, double decodeTokensPerSecond,
            double ratioToFirst) {}

    private final int context;
    private final int steps;
    private final int repetitions;
    private final dev.baton.engine.gguf.GgmlType kvDtype;

    public LongContextBenchmark(int context, int steps, int repetitions) {
        this(context, steps, repetitions, dev.baton.engine.gguf.GgmlType.F32);
    }

    /** @param kvDtype the engines' KV cache type ({@code baton.engine.kv-dtype}) */
    public LongContextBenchmark(int context, int steps, int repetitions, dev.baton.engine.gguf.GgmlType kvDtype) {
        if (context < 1 || steps < 1 || repetitions < 1) {
            throw new IllegalArgumentException("context, steps and repetitions must be positive");
        }
        this.context = context;
        this.steps = steps;
        this.repetitions = repetitions;
        this.kvDtype = kvDtype;
    }

    /** Measures {@code model} at each thread count; rows in the order of {@code threadCounts}. */
    public List<Row> run(Path model, List<Integer> threadCounts, PrintStream progress) throws IOException {
        int n = threadCounts.size();
        Engine[] engines = new Engine[n];
        KvSequence[] seqs = new KvSequence[n];
        StepBatch[] batches = new StepBatch[n];
        double[] best = new double[n];
        try {
            int[] tokens = null;
            for (int i = 0; i < n; i++) {
                EngineSettings s = EngineSettings.defaults(model).withThreads(threadCounts.get(i))
                        .withKvCacheBytes(1L << 30).withBatch(512, 1).withKvDtype(kvDtype);
                engines[i] = Engine.open(s);
                int limit = engines[i].config().contextLength();
                if (context + 1 > limit) {
                    throw new IllegalArgumentException("--context " + context + " needs " + (context + 1)
                            + " positions; " + model.getFileName() + " has " + limit);
                }
                if (tokens == null) {
                    tokens = new SplittableRandom(1).ints(context + 1, 0, engines[i].config().vocabSize()).toArray();
                }
                seqs[i] = engines[i].newSequence();
                batches[i] = engines[i].newBatch();
                prefill(engines[i], batches[i], seqs[i], tokens);
            }
            for (int rep = -1; rep < repetitions; rep++) {
                for (int i = 0; i < n; i++) {
                    if (rep == -1) {
                        progress.printf("baton bench engine: %s, %d-token context, %d thread(s)...%n",
                                model.getFileName(), context, threadCounts.get(i));
                    }
                    double tps = decode(engines[i], batches[i], seqs[i], tokens);
                    if (rep >= 0) {
                        best[i] = Math.max(best[i], tps);
                    }
                }
            }
            String weights = engines[0].file().tensor("blk.0.attn_q.weight").type().name();
            int heads = engines[0].config().headCount();
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                rows.add(new Row(model.getFileName().toString(), weights, heads, context, threadCounts.get(i), best[i],
                        best[i] / best[0]));
            }
            return rows;
        } finally {
            for (int i = 0; i < n; i++) {
                if (seqs[i] != null) {
                    seqs[i].free();
                }
                if (engines[i] != null) {
                    engines[i].close();
                }
            }
        }
    }

    private void prefill(Engine e, StepBatch b, KvSequence seq, int[] tokens) {
        int done = 0;
        while (done < context) {
            b.clear();
            int end = Math.min(context, done + b.remainingTokens());
            b.add(seq, tokens, done, end, false);
            e.forward().step(b);
            done = end;
        }
    }

    /** Tokens per second of {@code steps} decode steps, each at position {@code context}. */
    private double decode(Engine e, StepBatch b, KvSequence seq, int[] tokens) {
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            seq.setLength(context);
            b.clear();
            b.add(seq, tokens, context, context + 1, true);
            e.forward().step(b);
        }
        return steps * 1e9 / (System.nanoTime() - t0);
    }

    /**
     * Writes {@code source} again with {@code heads} attention heads (and as many KV heads) of
     * {@code dim / heads} dimensions each, every tensor copied byte for byte: the same weights and the same
     * attention work per token, cut into fewer or more heads. A model of few heads shows how the attention of
     * one sequence spreads over more threads than heads. Only for models without grouped-query attention.
     */
    public static void writeWithHeads(Path source, Path dest, int heads) throws IOException {
        try (GgufFile src = GgufFile.open(source)) {
            ModelConfig c = ModelConfig.from(src);
            if (c.kvHeadCount() != c.headCount()) {
                throw new IllegalArgumentException(source.getFileName() + " uses grouped-query attention ("
                        + c.headCount() + " heads, " + c.kvHeadCount() + " KV heads): --heads needs a model without");
            }
            if (heads < 1 || c.dim() % heads != 0) {
                throw new IllegalArgumentException("--heads " + heads + " does not divide the model's width " + c.dim());
            }
            String arch = src.metadata().getString("general.architecture");
            GgufWriter w = new GgufWriter();
            for (GgufMetadata.Entry e : src.metadata().entries().values()) {
                w.put(e);
            }
            w.putUint32(arch + ".attention.head_count", heads);
            w.putUint32(arch + ".attention.head_count_kv", heads);
            if (src.metadata().has(arch + ".rope.dimension_count")) {
                w.putUint32(arch + ".rope.dimension_count", c.dim() / heads);
            }
            for (GgufTensorInfo t : src.tensors().values()) {
                w.addRawTensor(t.name(), t.type(), t.data(), t.dims());
            }
            w.write(dest);
        }
    }

    /** A Markdown table of the rows. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | weights | heads | context | threads | decode tok/s (1 seq) | vs first |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format("| %s | %s | %d | %d | %d | %,.1f | %.2fx |%n", r.model(), r.weights(), r.heads(),
                    r.context(), r.threads(), r.decodeTokensPerSecond(), r.ratioToFirst()));
        }
        return sb.toString();
    }
}
