package dev.baton.bench.jmh;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.tensor.InputBatch;
import dev.baton.engine.tensor.KernelMode;
import dev.baton.engine.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * Single-threaded CPU matmul kernels ({@link WeightMatrix}) on the shapes of the small oracle model
 * (dim 288, ffn 768, vocab 32000), with random weights built in memory.
 *
 * <ul>
 *   <li>{@code matmul}: one {@code rows x cols} matrix times {@code n} input vectors (the input
 *       converted once, outside the timing). GMAC/s = rows * cols * n / (ns/op).</li>
 *   <li>{@code decodeStep}: every matmul of one decode step of the small model (6 layers of
 *       q, k, v, o 288x288, gate and up 768x288, down 288x768, then the 32000x288 classifier) for
 *       {@code n} sequences, input conversions included: an upper bound on tokens/s, n * 1e9 / (ns/op).</li>
 * </ul>
 *
 * <p>Run from the repository root:
 * <pre>
 *   bin/build -q -pl bench -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
 *   . bin/jdk.sh &amp;&amp; baton_select_jdk &amp;&amp; "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector \
 *       -cp bench/target/classes:$(cat bench/target/classpath.txt) org.openjdk.jmh.Main MatmulBenchmark \
 *       -p type=Q8_0 -p n=1,8,32 -prof gc
 * </pre>
 * ({@code -p mode=SCALAR} measures the plain-Java reference kernels.)
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx512m"})
public class MatmulBenchmark {

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @State(Scope.Thread)
    public static class Shape {
        /** rows x cols: attention projections, FFN gate/up, FFN down, classifier. */
        @Param({"288x288", "768x288", "288x768", "32000x288"})
        public String shape;

        @Param({"Q8_0", "Q4_0", "F32", "F16", "BF16"})
        public GgmlType type;

        @Param({"1", "8", "32"})
        public int n;

        @Param({"VECTOR"})
        public KernelMode mode;

        WeightMatrix matrix;
        InputBatch input;
        float[] out;
        Arena arena;

        @Setup(Level.Trial)
        public void setUp() {
            String[] rc = shape.split("x");
            int rows = Integer.parseInt(rc[0]);
            int cols = Integer.parseInt(rc[1]);
            arena = Arena.ofShared();
            matrix = WeightMatrix.of(randomTensor("w", type, rows, cols, 42, arena), mode);
            input = new InputBatch(n, cols);
            input.load(randomFloats(n * cols, 7), 0, cols, n, cols, matrix.inputType());
            out = new float[n * rows];
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @State(Scope.Thread)
    public static class Model {
        @Param({"Q8_0", "Q4_0", "F32"})
        public GgmlType type;

        @Param({"1", "8", "32"})
        public int n;

        @Param({"VECTOR"})
        public KernelMode mode;

        static final int DIM = 288;
        static final int FFN = 768;
        static final int VOCAB = 32000;
        static final int LAYERS = 6;

        WeightMatrix[][] layers;
        WeightMatrix classifier;
        InputBatch input;
        float[] x;
        float[] hidden;
        float[] out;
        float[] logits;
        Arena arena;

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.ofShared();
            layers = new WeightMatrix[LAYERS][];
            int seed = 1;
            for (int l = 0; l < LAYERS; l++) {
                layers[l] = new WeightMatrix[] {
                    WeightMatrix.of(randomTensor("q", type, DIM, DIM, seed++, arena), mode),
                    WeightMatrix.of(randomTensor("k", type, DIM, DIM, seed++, arena), mode),
                    WeightMatrix.of(randomTensor("v", type, DIM, DIM, seed++, arena), mode),
                    WeightMatrix.of(randomTensor("o", type, DIM, DIM, seed++, arena), mode),
                    WeightMatrix.of(randomTensor("gate", type, FFN, DIM, seed++, arena), mode),
                    WeightMatrix.of(randomTensor("up", type, FFN, DIM, seed++, arena), mode),
                    WeightMatrix.of(randomTensor("down", type, DIM, FFN, seed++, arena), mode),
                };
            }
            classifier = WeightMatrix.of(randomTensor("output", type, VOCAB, DIM, seed, arena), mode);
            input = new InputBatch(n, FFN);
            x = randomFloats(n * FFN, 3);
            hidden = new float[n * FFN];
            out = new float[n * FFN];
            logits = new float[n * VOCAB];
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @Benchmark
    public void matmul(Shape s, Blackhole bh) {
        s.matrix.matmul(s.input, s.out, 0, s.matrix.rows(), 0, s.matrix.rows());
        bh.consume(s.out);
    }

    @Benchmark
    public void decodeStep(Model m, Blackhole bh) {
        int n = m.n;
        int dim = Model.DIM;
        int ffn = Model.FFN;
        GgmlType it = m.classifier.inputType();
        for (WeightMatrix[] w : m.layers) {
            m.input.load(m.x, 0, dim, n, dim, it);
            w[0].matmul(m.input, m.out, 0, dim, 0, dim);
            w[1].matmul(m.input, m.out, 0, dim, 0, dim);
            w[2].matmul(m.input, m.out, 0, dim, 0, dim);
            m.input.load(m.x, 0, dim, n, dim, it);
            w[3].matmul(m.input, m.out, 0, dim, 0, dim);
            m.input.load(m.x, 0, dim, n, dim, it);
            w[4].matmul(m.input, m.hidden, 0, ffn, 0, ffn);
            w[5].matmul(m.input, m.hidden, 0, ffn, 0, ffn);
            m.input.load(m.x, 0, ffn, n, ffn, it);
            w[6].matmul(m.input, m.out, 0, dim, 0, dim);
        }
        m.input.load(m.x, 0, dim, n, dim, it);
        m.classifier.matmul(m.input, m.logits, 0, Model.VOCAB, 0, Model.VOCAB);
        bh.consume(m.logits);
    }

    static float[] randomFloats(int count, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /** Random weights of {@code type}: normal floats for the plain types, random integers and scales for the block types. */
    static GgufTensorInfo randomTensor(String name, GgmlType type, int rows, int cols, long seed, Arena arena) {
        long bytes = type.byteSize((long) rows * cols);
        MemorySegment seg = arena.allocate(bytes, 64);
        Random rnd = new Random(seed);
        switch (type) {
            case F32 -> {
                for (long i = 0; i < bytes; i += 4) {
                    seg.set(F32_LE, i, (float) rnd.nextGaussian() * 0.05f);
                }
            }
            case F16 -> {
                for (long i = 0; i < bytes; i += 2) {
                    seg.set(I16_LE, i, Float.floatToFloat16((float) rnd.nextGaussian() * 0.05f));
                }
            }
            case BF16 -> {
                for (long i = 0; i < bytes; i += 2) {
                    seg.set(I16_LE, i, (short) (Float.floatToRawIntBits((float) rnd.nextGaussian() * 0.05f) >>> 16));
                }
            }
            case Q8_0, Q4_0 -> {
                for (long i = 0; i < bytes; i++) {
                    seg.set(ValueLayout.JAVA_BYTE, i, (byte) (rnd.nextInt(255) - 127));
                }
                for (long b = 0; b < bytes; b += type.blockBytes) {
                    seg.set(I16_LE, b, Float.floatToFloat16(0.001f + rnd.nextFloat() * 0.01f));
                }
            }
            default -> throw new IllegalArgumentException("no kernels for " + type);
        }
        return new GgufTensorInfo(name, new long[] {cols, rows}, type, 0, seg);
    }
}
