package dev.baton.engine.tensor;

import dev.baton.engine.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Run by {@link KernelModeTest} in a JVM without {@code jdk.incubator.vector}: every entry point must work. */
public final class ScalarFallbackMain {

    private ScalarFallbackMain() {}

    public static void main(String[] args) {
        WeightMatrix m = WeightMatrix.of(TestTensors.tensor("w", GgmlType.Q8_0, 4, 64, TestTensors.randomFloats(256, 1, 1f)));
        InputBatch in = new InputBatch(2, 64);
        in.load(TestTensors.randomFloats(128, 2, 1f), 0, 64, 2, 64, m.inputType());
        float[] out = new float[8];
        m.matmul(in, out, 0, 4, 0, 4);
        MemorySegment kv = Arena.ofAuto().allocate(256);
        FloatOps.store(out, 0, kv, 0, GgmlType.F16, 8);
        float dot = FloatOps.dot(out, 0, kv, 0, GgmlType.F16, 8);
        System.out.println(KernelMode.defaultMode() + " " + m.mode() + " " + Float.isFinite(dot));
    }
}
