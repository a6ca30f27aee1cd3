package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.model.ModelConfig;
import dev.baton.engine.step.StepBatch;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The host side of a GPU decode step allocates nothing: batch packing, the prepared launches, the copies, the KV rows
 * written back. Measured on a GPU that does nothing (the device's own work is not the JVM's), after a warm-up.
 */
class CudaBackendAllocationTest {

    /** Memory that is never read, launches that do nothing. */
    static final class NullGpu implements Gpu {
        @Override
        public CudaDevice.Info info() {
            return new CudaDevice.Info(0, "null", 80L << 30, 1, 9, 0);
        }

        @Override
        public void makeCurrent() {}

        @Override
        public DeviceMemory alloc(long bytes) {
            return new DeviceMemory(bytes, null);
        }

        @Override
        public void copy(DeviceMemory dst, long offset, MemorySegment src) {}

        @Override
        public void copy(DeviceMemory dst, int[] src, int count) {}

        @Override
        public void copy(DeviceMemory dst, float[] src, int count) {}

        @Override
        public void download(float[] dst, DeviceMemory src, int count) {}

        @Override
        public void download(int[] dst, DeviceMemory src, int count) {}

        @Override
        public void download(byte[] dst, DeviceMemory src, long count) {}

        @Override
        public void launch(Launch l, Object... args) {}

        @Override
        public KernelCall prepare(String kernel, int argCount) {
            return new KernelCall() {
                @Override
                public KernelCall set(int i, DeviceMemory m) {
                    return this;
                }

                @Override
                public KernelCall set(int i, int v) {
                    return this;
                }

                @Override
                public KernelCall set(int i, long v) {
                    return this;
                }

                @Override
                public KernelCall set(int i, float v) {
                    return this;
                }

                @Override
                public KernelCall set(int i, double v) {
                    return this;
                }

                @Override
                public KernelCall set(int i, byte[] struct) {
                    return this;
                }

                @Override
                public void launch(int gridX, int gridY, int gridZ, int block) {}
            };
        }

        @Override
        public void synchronize() {}

        @Override
        public void close() {}
    }

    @Test
    void aDecodeStepShouldAllocateNothingOnTheHost() throws Exception {
        Path model = Path.of(System.getProperty("baton.oracle.dir"), "models", "tiny-qwen2-f32.gguf");
        try (GgufFile file = GgufFile.open(model)) {
            ModelConfig c = ModelConfig.from(file);
            KvCacheSpec spec = new KvCacheSpec(c.layerCount(), c.kvHeadCount(), c.headDim(), 16, GgmlType.F16);
            try (KvBlockPool pool = new KvBlockPool(spec, 64);
                    CudaBackend backend = new CudaBackend(c, file, pool, 64, 4, new NullGpu())) {
                KvSequence[] seqs = {new KvSequence(pool), new KvSequence(pool)};
                int[] ids = new int[400];
                StepBatch b = backend.newBatch(4);
                for (KvSequence s : seqs) {
                    b.clear();
                    b.add(s, ids, 0, 10, true);
                    backend.step(b);
                }
                var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                // windows of 48 steps (three blocks of 16 positions each): a per-step allocation shows in every window;
                // a one-off (a method compiled or deoptimized mid-window) in one at most
                long[] windows = new long[6];
                for (int w = 0; w < windows.length; w++) {
                    for (int step = 0; step < 48; step++) {
                        b.clear();
                        for (KvSequence s : seqs) {
                            b.add(s, ids, s.length(), s.length() + 1, true);
                        }
                        long before = threads.getCurrentThreadAllocatedBytes();
                        backend.step(b);
                        windows[w] += threads.getCurrentThreadAllocatedBytes() - before;
                    }
                }
                System.out.println("bytes allocated by each window of 48 decode steps: " + java.util.Arrays.toString(windows));
                long measured = java.util.Arrays.stream(windows).skip(1).min().orElseThrow();
                assertEquals(0, measured, "bytes allocated by 48 decode steps of two sequences, in the quietest window after"
                        + " the first: " + java.util.Arrays.toString(windows));
            }
        }
    }
}
