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
 * with a 128-token context, feeding one token. With {@code -prof gc} it shows the step allocates
 * nothing ({@code gc.alloc.rate.norm} ~ 0 B/op).
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

    private static final int CONTEXT = 128;

    private Engine engine;
    private KvSequence[] seqs;
    private int[][] tokens;
    private StepBatch batch;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        engine = Engine.open(EngineSettings.defaults(Path.of(model)).withThreads(1).withKvCacheBytes(256L << 20)
                .withBatch(CONTEXT, 32));
        batch = engine.newBatch();
        seqs = new KvSequence[sequences];
        tokens = new int[sequences][CONTEXT + 1];
        for (int i = 0; i < sequences; i++) {
            for (int p = 0; p <= CONTEXT; p++) {
                tokens[i][p] = (i * 31 + p * 7) % engine.config().vocabSize();
            }
            seqs[i] = engine.newSequence();
            batch.clear();
            batch.add(seqs[i], tokens[i], 0, CONTEXT, true);
            engine.forward().step(batch);
        }
    }

    /** Re-runs position CONTEXT of every sequence (its KV slot is rewritten with the same values). */
    @Benchmark
    public float decodeStep() {
        batch.clear();
        for (int i = 0; i < sequences; i++) {
            seqs[i].setLength(CONTEXT);
            batch.add(seqs[i], tokens[i], CONTEXT, CONTEXT + 1, true);
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
