package dev.baton.bench.jmh;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.step.StepBatch;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One decode step of the whole engine ({@code ForwardPass.step}): {@code sequences} sequences, each
 * with a {@code context}-token context (128 by default), feeding one token, on {@code threads} threads.
 * With {@code -prof gc} it shows the step allocates nothing ({@code gc.alloc.rate.norm} ~ 0 B/op);
 * {@code -p context=2000 -p threads=2 -p sequences=1} covers split-K attention (chunks of one sequence's
 * attention spread over the threads).
 *
 * <pre>
 * bin/build -q -pl bench -am -DskipTests package
 * java --add-modules jdk.incubator.vector -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
 *     org.openjdk.jmh.Main ForwardStepBenchmark -p model=../shared/oracle/models/small-q8_0.gguf -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class ForwardStepBenchmark {

    @Param({"../shared/oracle/models/small-q8_0.gguf"})
    public String model;

    @Param({"1", "8"})
    public int sequences;

    @Param({"128"})
    public int context;

    @Param({"1"})
    public int threads;

    private Engine engine;
    private KvSequence[] seqs;
    private int[][] tokens;
    private StepBatch batch;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        engine = Engine.open(EngineSettings.defaults(Path.of(model)).withThreads(threads).withKvCacheBytes(512L << 20)
                .withBatch(Math.min(context, 512), 32));
        batch = engine.newBatch();
        seqs = new KvSequence[sequences];
        tokens = new int[sequences][context + 1];
        for (int i = 0; i < sequences; i++) {
            for (int p = 0; p <= context; p++) {
                tokens[i][p] = (i * 31 + p * 7) % engine.config().vocabSize();
            }
            seqs[i] = engine.newSequence();
            for (int done = 0; done < context; ) {
                batch.clear();
                int end = Math.min(context, done + batch.remainingTokens());
                batch.add(seqs[i], tokens[i], done, end, end == context);
                engine.forward().step(batch);
                done = end;
            }
        }
    }

    /** Re-runs position {@code context} of every sequence (its KV slot is rewritten with the same values). */
    @Benchmark
    public float decodeStep() {
        batch.clear();
        for (int i = 0; i < sequences; i++) {
            seqs[i].setLength(context);
            batch.add(seqs[i], tokens[i], context, context + 1, true);
        }
        engine.forward().step(batch);
        return engine.forward().logits()[0];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (KvSequence s : seqs) {
            s.free();
        }
        engine.close();
    }
}
