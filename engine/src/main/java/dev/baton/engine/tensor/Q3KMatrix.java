package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.KQuants.f16;
import static dev.baton.engine.tensor.KQuants.u8;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Q3_K weights, scalar kernels (ggml's generic {@code ggml_vec_dot_q3_K_q8_K}); layout in {@link KQuants}. */
class Q3KMatrix extends KQuantMatrix {

    Q3KMatrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    float dot(long wo, InputBatch in, int v, int[] aux, float[] sums) {
        MemorySegment w = data;
        float[] xq = in.values;
        Arrays.fill(sums, 0f);
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * 110;
            int xb = v * cols + b * QK_K;
            Arrays.fill(aux, 0);
            for (int g = 0; g < 16; g++) {
                int scale = KQuants.scaleQ3(w, bo + 96, g) - 32;
                for (int i = 16 * g; i < 16 * g + 16; i++) {
                    // value i = 128n + 32j + l: bits 2j, 2j+1 of qs[32n + l], minus 4 unless bit 4n+j of hmask[l]
                    int n = i >>> 7;
                    int j = (i >>> 5) & 3;
                    int l = i & 31;
                    int q = ((u8(w, bo + 32 + 32 * n + l) >>> (2 * j)) & 3)
                            - ((u8(w, bo + l) & (1 << (4 * n + j))) != 0 ? 0 : 4);
                    aux[i & 7] += scale * (q * (int) xq[xb + i]);
                }
            }
            float d = f16(w, bo + 108) * in.scales[v * blocks + b];
            for (int l = 0; l < 8; l++) {
                sums[l] += d * aux[l];
            }
        }
        return addLanes(0f, sums);
    }
}
