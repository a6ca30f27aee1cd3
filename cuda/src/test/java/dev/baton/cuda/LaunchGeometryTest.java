package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

class LaunchGeometryTest {

    @Test
    void shouldCoverEveryRowAndTokenOfAProductWithOneTileEach() {
        for (int rows : new int[] {1, 31, 32, 33, 896, 4864, 151_936}) {
            for (int tokens : new int[] {1, 2, 4, 5, 8, 9, 512}) {
                Launch l = LaunchGeometry.gemm(GgmlType.Q8_0, rows, 896, tokens);
                int tm = LaunchGeometry.gemmTileTokens(tokens);
                int rowsPerBlock = LaunchGeometry.GEMM_WARPS * LaunchGeometry.GEMM_ROWS_PER_WARP;
                assertTrue((long) l.gridX() * rowsPerBlock >= rows, l.toString());
                assertTrue((long) (l.gridX() - 1) * rowsPerBlock < rows, "no block without rows: " + l);
                assertTrue((long) l.gridY() * tm >= tokens && (long) (l.gridY() - 1) * tm < tokens, l.toString());
                assertEquals(128, l.blockX());
                assertTrue(l.kernel().endsWith("_t" + tm), l.kernel());
            }
        }
        assertEquals("baton_gemm_q8_0_t1", LaunchGeometry.gemm(GgmlType.Q8_0, 8, 32, 1).kernel());
        assertEquals("baton_gemm_bf16_t4", LaunchGeometry.gemm(GgmlType.BF16, 8, 32, 3).kernel());
        assertEquals("baton_gemm_f16_t8", LaunchGeometry.gemm(GgmlType.F16, 8, 32, 9).kernel());
    }

    @Test
    void shouldRefuseWhatTheKernelsCannotDo() {
        var e = assertThrows(CudaUnavailableException.class, () -> LaunchGeometry.gemm(GgmlType.Q5_K, 8, 256, 1));
        assertTrue(e.getMessage().contains("Q5_K"), e.getMessage());
        assertEquals("baton_gemm_q4_k_t1", LaunchGeometry.gemm(GgmlType.Q4_K, 8, 256, 1).kernel());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.gemm(GgmlType.Q6_K, 8, 96, 1)); // half a block
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.gemm(GgmlType.F32, 8, 33, 1));
        var kv = assertThrows(CudaUnavailableException.class, () -> LaunchGeometry.attention(GgmlType.Q8_0, 1, 4, 64, 1));
        assertTrue(kv.getMessage().contains("Q8_0"), kv.getMessage());
        var head = assertThrows(CudaUnavailableException.class, () -> LaunchGeometry.attention(GgmlType.F16, 1, 4, 512, 1));
        assertTrue(head.getMessage().contains("512"), head.getMessage());
        // a grid's y and z stop at 65,535: a batch of 70,000 tokens' heads cannot be one launch
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.attention(GgmlType.F16, 1, 70_000, 64, 1));
        assertThrows(IllegalArgumentException.class, () -> new Launch("k", 1, 1, 1, 100, 0));
    }

    @Test
    void shouldSizeEachKernelAsItsReductionsExpect() {
        assertEquals(256, LaunchGeometry.rmsnorm(7).blockX());
        assertEquals(7, LaunchGeometry.rmsnorm(7).gridX());
        assertEquals(1024, LaunchGeometry.rows("baton_argmax", 3).blockX());
        Launch rope = LaunchGeometry.ropeStore(GgmlType.F16, 5, 14, 2, 64);
        assertEquals(5, rope.gridX());
        assertEquals(16, rope.gridY());
        Launch att = LaunchGeometry.attention(GgmlType.F32, 5, 14, 64, 3);
        assertEquals(3, att.gridZ());
        Launch e = LaunchGeometry.elementwise("baton_add", 10);
        assertEquals(1, e.gridX());
        Launch big = LaunchGeometry.elementwise("baton_swiglu", 1L << 31);
        assertTrue(big.threads() < (1L << 31), "grid-stride: a bounded grid for any length");
    }
}
