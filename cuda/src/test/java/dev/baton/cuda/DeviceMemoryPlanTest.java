package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.model.ModelConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DeviceMemoryPlanTest {

    static final Path MODELS = Path.of(System.getProperty("baton.oracle.dir")).resolve("models");
    static final long H100 = 80L << 30;
    static final DeviceMemoryPlan.Limits LIMITS = new DeviceMemoryPlan.Limits(512, 64, 64);

    static KvCacheSpec spec(ModelConfig c, GgmlType dtype) {
        return new KvCacheSpec(c.layerCount(), c.kvHeadCount(), c.headDim(), 16, dtype);
    }

    @Test
    void shouldPutWeightsWorkspaceAndReserveFirstAndTheKvPoolInWhatIsLeft() throws Exception {
        try (GgufFile f = GgufFile.open(MODELS.resolve("small-kq-q4_k_m.gguf"))) {
            ModelConfig c = ModelConfig.from(f);
            long fileTensors = 0;
            for (GgufTensorInfo t : f.tensors().values()) {
                fileTensors += t.byteSize();
            }
            KvCacheSpec kv = spec(c, GgmlType.F16);
            DeviceMemoryPlan p = DeviceMemoryPlan.of(c, f.tensors().values(), kv, LIMITS, H100, 0, 0.9,
                    DeviceMemoryPlan.DEFAULT_RESERVE);
            assertEquals(fileTensors, p.weightBytes(), "the weights as stored");
            assertEquals((long) (H100 * 0.9), p.usableBytes());
            long left = p.usableBytes() - p.weightBytes() - p.workspaceBytes() - p.reserveBytes();
            assertEquals(left / kv.blockBytes(), p.kvBlocks(), "the KV pool takes what is left");
            assertTrue(p.kvBytes() <= left && left - p.kvBytes() < kv.blockBytes());
            assertTrue(p.workspaceBytes() > 4L * 512 * c.dim(), "at least the residual stream");
            assertTrue(p.summary().contains(p.kvBlocks() + " blocks"), p.summary());

            // the size asked for, when it fits
            DeviceMemoryPlan asked = DeviceMemoryPlan.of(c, f.tensors().values(), kv, LIMITS, H100, 1L << 30, 0.9,
                    DeviceMemoryPlan.DEFAULT_RESERVE);
            assertEquals((1L << 30) / kv.blockBytes(), asked.kvBlocks());
            // F32 KV: twice the bytes a block, half the blocks
            DeviceMemoryPlan f32 = DeviceMemoryPlan.of(c, f.tensors().values(), spec(c, GgmlType.F32), LIMITS, H100,
                    1L << 30, 0.9, DeviceMemoryPlan.DEFAULT_RESERVE);
            assertEquals(asked.kvBlocks() / 2, f32.kvBlocks(), 1);
        }
    }

    @Test
    void shouldRefuseWhatDoesNotFitNamingTheNumbers() throws Exception {
        try (GgufFile f = GgufFile.open(MODELS.resolve("small-kq-q4_k_m.gguf"))) {
            ModelConfig c = ModelConfig.from(f);
            KvCacheSpec kv = spec(c, GgmlType.F16);
            var tooSmall = assertThrows(CudaUnavailableException.class, () -> DeviceMemoryPlan.of(c, f.tensors().values(),
                    kv, LIMITS, 600L << 20, 0, 0.9, DeviceMemoryPlan.DEFAULT_RESERVE));
            assertTrue(tooSmall.getMessage().contains("does not fit the GPU"), tooSmall.getMessage());
            assertTrue(tooSmall.getMessage().contains("of weights"), tooSmall.getMessage());
            var kvTooBig = assertThrows(CudaUnavailableException.class, () -> DeviceMemoryPlan.of(c, f.tensors().values(),
                    kv, LIMITS, H100, 79L << 30, 0.9, DeviceMemoryPlan.DEFAULT_RESERVE));
            assertTrue(kvTooBig.getMessage().contains("KV cache of"), kvTooBig.getMessage());
            assertThrows(IllegalArgumentException.class, () -> DeviceMemoryPlan.of(c, f.tensors().values(), kv, LIMITS,
                    H100, 0, 1.5, 0));
            var other = assertThrows(IllegalArgumentException.class, () -> DeviceMemoryPlan.of(c, f.tensors().values(),
                    new KvCacheSpec(c.layerCount(), c.kvHeadCount(), 2 * c.headDim(), 16, GgmlType.F16), LIMITS, H100, 0, 0.9, 0));
            assertTrue(other.getMessage().contains("does not match the model"), other.getMessage());
            var q8kv = assertThrows(CudaUnavailableException.class, () -> DeviceMemoryPlan.of(c, f.tensors().values(),
                    new KvCacheSpec(c.layerCount(), c.kvHeadCount(), 64, 16, GgmlType.Q8_0), LIMITS, H100, 0, 0.9, 0));
            assertTrue(q8kv.getMessage().contains("Q8_0"), q8kv.getMessage());
        }
    }

    @Test
    void shouldNameATensorTheKernelsCannotReadYet() throws Exception {
        try (GgufFile f = GgufFile.open(MODELS.resolve("small-kq-q4_k_m.gguf"))) {
            ModelConfig c = ModelConfig.from(f);
            // the file's tensors with one of them a K-quant the kernels do not read, as in a Q5_K_M file
            java.util.List<GgufTensorInfo> tensors = new java.util.ArrayList<>();
            for (GgufTensorInfo t : f.tensors().values()) {
                tensors.add(t.name().equals("blk.1.ffn_down.weight")
                        ? new GgufTensorInfo(t.name(), t.dims(), GgmlType.Q5_K, t.offsetBytes(), t.data()) : t);
            }
            var e = assertThrows(CudaUnavailableException.class, () -> DeviceMemoryPlan.of(c, tensors,
                    spec(c, GgmlType.F16), LIMITS, H100, 0, 0.9, 0));
            assertTrue(e.getMessage().startsWith("tensor blk.1.ffn_down.weight: "), e.getMessage());
            assertTrue(e.getMessage().contains("Q5_K weights"), e.getMessage());
        }
    }
}
