package dev.baton.bench.engine;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.GenerationListener;
import dev.baton.engine.sched.GenerationRequest;
import dev.baton.engine.sched.LoopSettings;
import dev.baton.engine.spec.Drafter;
import dev.baton.engine.spec.SpeculationSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Single-stream decode speed of the engine loop with speculative decoding ({@code bin/baton bench spec}): one
 * greedy request at a time through an {@link EngineLoop}, decode tokens per second from its first token to its
 * last, for three kinds of drafts:
 * <ul>
 *   <li>{@code off}: no speculation, one token per step (the baseline of every ratio);</li>
 *   <li>{@code prompt-lookup}: {@code baton.engine.speculation}'s n-gram drafts (n-grams of 2 to 4 tokens);</li>
 *   <li>{@code target}: the target's own answer (recorded by the {@code off} run) replayed as the draft: every
 *       draft is accepted and drafting costs nothing, the ceiling of the mechanism (what a draft model equal to
 *       the target would reach if its drafts were free).</li>
 *   <li>{@code draft:FILE}: each {@code --draft-model} ({@link dev.baton.engine.spec.DraftModel}), drafting cost
 *       included; the target's own file as the draft model gives full acceptance at the draft model's cost.</li>
 * </ul>
 * Workloads: {@code copy}, a prompt made of one random span repeated, so that prompt lookup finds matches (how
 * many drafts the model then confirms depends on the model: an answer that copies or repeats itself confirms
 * many); {@code echo}, a random prompt, the model's answer to it and the prompt again (the answer copies its
 * first one as far as the model repeats itself: a "say that again" turn); {@code random}, random prompt tokens. Every run checks that its tokens equal the {@code off} run's.
 *
 * <p>Each figure is the best of {@code repetitions} runs after one warm-up run, the kinds alternating within
 * each repetition so that all see the machine in the same state.
 */
public final class SpeculationBenchmark {

    /** One measured configuration. */
    public record Row(String model, int threads, String workload, String drafts, int draftTokens,
            double decodeTokensPerSecond, double ratioToOff, double acceptance, double tokensPerStep) {}

    private final int promptTokens;
    private final int decodeTokens;
    private final int repetitions;
    private final List<Path> draftModels;

    public SpeculationBenchmark(int promptTokens, int decodeTokens, int repetitions) {
        this(promptTokens, decodeTokens, repetitions, List.of());
    }

    /** @param draftModels draft models measured beside prompt lookup and the replayed answer (may be empty) */
    public SpeculationBenchmark(int promptTokens, int decodeTokens, int repetitions, List<Path> draftModels) {
        this.promptTokens = promptTokens;
        this.decodeTokens = decodeTokens;
        this.repetitions = repetitions;
        this.draftModels = List.copyOf(draftModels);
    }

    /** One kind of drafts at one draft length; {@code replay}: the recorded answer is the drafter. */
    private record Kind(String label, int k, SpeculationSettings spec, boolean replay) {}

    private record Result(int[] tokens, double tokensPerSecond, long drafted, long accepted, long decodeSteps) {}

    /** Every kind of draft at every draft length, on one model, thread count and workload. */
    public List<Row> run(Path model, int threads, String workload, List<Integer> draftTokens, PrintStream progress)
            throws IOException {
        EngineSettings s = EngineSettings.defaults(model).withThreads(threads).withKvCacheBytes(256L << 20)
                .withBatch(LoopSettings.defaults().prefillChunkTokens(), 40).withPrefixCache(false);
        try (Engine e = Engine.open(s)) {
            int[] prompt = prompt(e, workload);
            Result off = once(e, SpeculationSettings.off(), null, prompt);
            if (workload.equals("echo")) {
                // the prompt, the model's answer to it, the prompt again: an answer that repeats its first one copies
                int[] p = prompt;
                int[] a = off.tokens();
                prompt = new int[2 * p.length + a.length];
                System.arraycopy(p, 0, prompt, 0, p.length);
                System.arraycopy(a, 0, prompt, p.length, a.length);
                System.arraycopy(p, 0, prompt, p.length + a.length, p.length);
                off = once(e, SpeculationSettings.off(), null, prompt);
            }
            int[] answer = off.tokens();
            List<Kind> kinds = new ArrayList<>();
            kinds.add(new Kind("off", 0, SpeculationSettings.off(), false));
            for (int k : draftTokens) {
                kinds.add(new Kind("prompt-lookup", k, SpeculationSettings.promptLookup(k, 2, 4), false));
                kinds.add(new Kind("target", k, SpeculationSettings.promptLookup(k, 2, 4), true));
                for (Path d : draftModels) {
                    kinds.add(new Kind("draft:" + d.getFileName(), k, SpeculationSettings.draftModel(d, k), false));
                }
            }
            Result[] best = new Result[kinds.size()];
            for (int rep = 0; rep <= repetitions; rep++) { // repetition 0 warms up
                progress.printf("baton bench spec: %s, %d thread(s), %s, round %d of %d...%n", model.getFileName(),
                        threads, workload, rep, repetitions);
                for (int i = 0; i < kinds.size(); i++) {
                    Kind kind = kinds.get(i);
                    Result r = once(e, kind.spec(), kind.replay() ? replay(prompt.length, answer) : null, prompt);
                    if (!Arrays.equals(answer, r.tokens())) {
                        throw new IllegalStateException("speculation changed the output (" + kind + ")");
                    }
                    if (rep > 0 && (best[i] == null || r.tokensPerSecond() > best[i].tokensPerSecond())) {
                        best[i] = r;
                    }
                }
            }
            double offBest = best[0].tokensPerSecond();
            List<Row> rows = new ArrayList<>();
            String name = model.getFileName().toString();
            for (int i = 0; i < kinds.size(); i++) {
                rows.add(row(name, threads, workload, kinds.get(i).label(), kinds.get(i).k(), best[i], offBest));
            }
            return rows;
        }
    }

    private static Row row(String model, int threads, String workload, String drafts, int k, Result r, double off) {
        double acceptance = r.drafted() == 0 ? 0 : (double) r.accepted() / r.drafted();
        return new Row(model, threads, workload, drafts, k, r.tokensPerSecond(), r.tokensPerSecond() / off, acceptance,
                (double) (r.tokens().length - 1) / Math.max(1, r.decodeSteps()));
    }

    private int[] prompt(Engine e, String workload) {
        int vocab = e.config().vocabSize();
        SplittableRandom rnd = new SplittableRandom(17);
        return switch (workload) {
            case "random", "echo" -> rnd.ints(promptTokens, 3, vocab).toArray();
            case "copy" -> {
                int[] span = rnd.ints(Math.min(32, promptTokens), 3, vocab).toArray();
                int[] p = new int[promptTokens];
                for (int i = 0; i < p.length; i++) {
                    p[i] = span[i % span.length];
                }
                yield p;
            }
            default -> throw new IllegalArgumentException("workload must be copy, echo or random, got " + workload);
        };
    }

    /** The recorded answer as the draft: the tokens that follow the ones generated so far. */
    private static Drafter replay(int promptLength, int[] answer) {
        return (tokens, length, out, max) -> {
            int from = length - promptLength;
            int count = Math.max(0, Math.min(max, answer.length - from));
            System.arraycopy(answer, from, out, 0, count);
            return count;
        };
    }

    private Result once(Engine e, SpeculationSettings spec, Drafter drafter, int[] prompt) {
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(decodeTokens).ignoreEos(true).build();
        int[] tokens = new int[decodeTokens];
        long[] firstLast = new long[2];
        CompletableFuture<FinishReason> done = new CompletableFuture<>();
        GenerationListener listener = new GenerationListener() {
            int n;

            @Override
            public void onToken(int tokenId, String text) {
                if (n == 0) {
                    firstLast[0] = System.nanoTime();
                }
                tokens[n++] = tokenId;
            }

            @Override
            public void onFinished(FinishReason reason, String text, int promptTokens, int completionTokens) {
                firstLast[1] = System.nanoTime();
                done.complete(reason);
            }

            @Override
            public void onFailed(String reason) {
                done.completeExceptionally(new IllegalStateException(reason));
            }
        };
        try (EngineLoop loop = new EngineLoop(e, LoopSettings.defaults().withSpeculation(spec), "bench-spec")) {
            if (drafter != null) {
                loop.useDrafter(drafter);
            }
            loop.submit(new GenerationRequest(new RequestId(1), prompt, params), listener);
            done.get(10, TimeUnit.MINUTES);
            long prefillSteps = (prompt.length + LoopSettings.defaults().prefillChunkTokens() - 1)
                    / LoopSettings.defaults().prefillChunkTokens();
            double tps = (decodeTokens - 1) * 1e9 / (firstLast[1] - firstLast[0]);
            return new Result(tokens, tps, loop.draftedTokens(), loop.acceptedDraftTokens(),
                    loop.stepCount() - prefillSteps);
        } catch (Exception ex) {
            throw new IllegalStateException("bench spec: the request failed: " + ex.getMessage(), ex);
        }
    }

    /** A Markdown table of the rows. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | threads | workload | drafts | k | decode tok/s (1 stream) | vs off | acceptance | tokens/step |\n");
        sb.append("|---|---:|---|---|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            sb.append(String.format("| %s | %d | %s | %s | %s | %,.1f | %.2fx | %s | %.2f |%n", r.model(), r.threads(),
                    r.workload(), r.drafts(), r.draftTokens() == 0 ? "-" : Integer.toString(r.draftTokens()),
                    r.decodeTokensPerSecond(), r.ratioToOff(),
                    r.drafts().equals("off") ? "-" : String.format("%.0f%%", 100 * r.acceptance()), r.tokensPerStep()));
        }
        return sb.toString();
    }
}
