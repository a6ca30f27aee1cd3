package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.KQuants.f16;
import static dev.baton.engine.tensor.KQuants.u8;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/** Q6_K weights, scalar kernels (ggml's generic {@code ggml_vec_dot_q6_K_q8_K}); layout in {@link KQuants}. */
class Q6KMatrix extends KQuantMatrix {

    static final int BLOCK_BYTES = 210;

    Q6KMatrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    float dot(long wo, InputBatch in, int v, int[] aux, float[] sums) {
        MemorySegment w = data;
        float[] xq = in.values;
        Arrays.fill(sums, 0f);
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            int xb = v * cols + b * QK_K;
            Arrays.fill(aux, 0);
            for (int i = 0; i < QK_K; i++) {
                // value i = 128n + 32k + l: low bits from nibble k/2 of ql[64n + 32(k%2) + l],
                // high bits 2k, 2k+1 of qh[32n + l]; scale scales[i / 16]
                int n = i >>> 7;
                int k = (i >>> 5) & 3;
                int l = i & 31;
                int lo = (u8(w, bo + 64 * n + 32 * (k & 1) + l) >>> (4 * (k >>> 1))) & 0xF;
                int hi = (u8(w, bo + 128 + 32 * n + l) >>> (2 * k)) & 3;
                int scale = w.get(ValueLayout.JAVA_BYTE, bo + 192 + (i >>> 4));
                aux[i & 7] += scale * (((lo | (hi << 4)) - 32) * (int) xq[xb + i]);
            }
            float d = f16(w, bo + 208) * in.scales[v * blocks + b];
            for (int l = 0; l < 8; l++) {
                sums[l] += d * aux[l];
            }
        }
        return addLanes(0f, sums);
    }
}
