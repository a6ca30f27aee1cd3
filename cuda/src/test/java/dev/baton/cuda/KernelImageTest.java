package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The kernels the build packaged: every kernel the host launches is in the PTX, none spills, the host's constants match. */
class KernelImageTest {

    static KernelImage image;

    @BeforeAll
    static void load() {
        var why = KernelImage.unavailableReason();
        // where nvcc is installed (these machines, CI) the build must have compiled the kernels
        Assumptions.assumeTrue(why.isPresent() == false || !nvccInstalled(), () -> "no nvcc here: " + why.orElse(""));
        assertTrue(why.isEmpty(), () -> "nvcc is installed but the kernels were not built: " + why.orElse(""));
        image = KernelImage.load();
    }

    static boolean nvccInstalled() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, "nvcc"))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));
    }

    @Test
    void shouldCarryEveryKernelTheHostLaunches() {
        Set<String> entries = image.entries();
        List<String> launched = new ArrayList<>();
        for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K,
                GgmlType.Q6_K)) {
            for (int tokens : new int[] {1, 3, 64}) {
                launched.add(LaunchGeometry.gemm(t, 64, 256, tokens).kernel());
            }
            launched.add(LaunchGeometry.embed(t, 1).kernel());
        }
        for (GgmlType kv : List.of(GgmlType.F32, GgmlType.F16)) {
            launched.add(LaunchGeometry.ropeStore(kv, 1, 4, 2, 64).kernel());
            launched.add(LaunchGeometry.attention(kv, 1, 4, 64, 1).kernel());
        }
        launched.addAll(List.of(LaunchGeometry.attentionMerge(1, 1).kernel(), LaunchGeometry.rmsnorm(1).kernel(),
                "baton_swiglu", "baton_add", "baton_add_bias", "baton_argmax", "baton_softmax", "baton_sample"));
        for (String k : launched) {
            assertTrue(entries.contains(k), k + " is not in the PTX: " + entries);
        }
        assertTrue(image.nvcc().startsWith("nvcc "), image.nvcc());
    }

    @Test
    void shouldReportEveryKernelWithoutSpills() {
        Map<String, KernelImage.KernelResources> r = image.resources();
        assertEquals(image.entries(), r.keySet().stream().collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new)),
                "ptxas reported a kernel for each entry");
        for (KernelImage.KernelResources k : r.values()) {
            assertEquals(0, k.spillStoreBytes() + k.spillLoadBytes(), k.toString());
            assertTrue(k.registers() > 0 && k.registers() <= 255, k.toString());
        }
        // the 8-token product tile holds 64 accumulators a lane: the most registers of all, and still no spill
        assertTrue(r.get("baton_gemm_q8_0_t8").registers() > r.get("baton_gemm_q8_0_t1").registers());
    }

    @Test
    void shouldParseAReportWithSpills() {
        String report = """
                ptxas info    : Compiling entry function 'k1' for 'sm_90'
                ptxas info    : Function properties for k1
                    56 bytes stack frame, 52 bytes spill stores, 76 bytes spill loads
                ptxas info    : Used 32 registers, used 1 barriers, 2176 bytes smem
                """;
        var k = KernelImage.parseReport(report).get("k1");
        assertEquals(new KernelImage.KernelResources("k1", 32, 56, 52, 76, 2176), k);
    }

    @Test
    void shouldAgreeWithTheKernelsOnStructsAndChunks() throws Exception {
        String ptx = new String(image.ptx(), java.nio.charset.StandardCharsets.US_ASCII);
        // the 6th parameter (index 5) of the attention kernel is the KvGeometry struct, by value
        Matcher m = Pattern.compile("\\.param \\.align 8 \\.b8 baton_attention_partial_f32_param_5\\[(\\d+)]").matcher(ptx);
        assertTrue(m.find(), "KvGeometry parameter not found in the PTX");
        assertEquals(KvGeometry.BYTES, Integer.parseInt(m.group(1)));
        Path source = Path.of("src/main/cuda/baton_kernels.cu"); // the module's directory (Maven)
        String cu = Files.readString(Files.exists(source) ? source : Path.of("cuda").resolve(source)); // or the repository's
        Matcher c = Pattern.compile("#define BATON_ATTN_CHUNK (\\d+)").matcher(cu);
        assertTrue(c.find());
        assertEquals(SplitK.CHUNK, Integer.parseInt(c.group(1)), "the kernel's chunk");
        var cpu = Class.forName("dev.baton.engine.step.PagedAttention").getDeclaredField("CHUNK");
        cpu.setAccessible(true);
        assertEquals(SplitK.CHUNK, cpu.getInt(null), "the CPU attention's chunk");
        Matcher h = Pattern.compile("#define BATON_MAX_HEAD_DIM (\\d+)").matcher(cu);
        assertTrue(h.find());
        assertEquals(LaunchGeometry.MAX_HEAD_DIM, Integer.parseInt(h.group(1)));
    }
}
