package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.KQuants.f16;
import static dev.baton.engine.tensor.KQuants.u8;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Q4_K weights, scalar kernels (ggml's generic {@code ggml_vec_dot_q4_K_q8_K}); layout in {@link KQuants}. */
class Q4KMatrix extends KQuantMatrix {

    static final int BLOCK_BYTES = 144;

    Q4KMatrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    float dot(long wo, InputBatch in, int v, int[] aux, float[] sums) {
        MemorySegment w = data;
        float[] xq = in.values;
        Arrays.fill(sums, 0f);
        float sumf = 0f;
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * BLOCK_BYTES;
            int xb = v * cols + b * QK_K;
            int gb = v * (cols / 16) + b * 16;
            Arrays.fill(aux, 0);
            int sumi = 0;
            for (int s = 0; s < 8; s++) {
                sumi += (in.bsums[gb + 2 * s] + in.bsums[gb + 2 * s + 1]) * KQuants.minK4(w, bo + 4, s);
                int scale = KQuants.scaleK4(w, bo + 4, s);
                // sub-block s = 2j + h: nibble h of qs[32j + l]
                long q = bo + 16 + 32L * (s >>> 1);
                int shift = 4 * (s & 1);
                for (int l = 0; l < 32; l++) {
                    int i = 32 * s + l;
                    aux[i & 7] += scale * (((u8(w, q + l) >>> shift) & 0xF) * (int) xq[xb + i]);
                }
            }
            float yd = in.scales[v * blocks + b];
            float d = f16(w, bo) * yd;
            for (int l = 0; l < 8; l++) {
                sums[l] += d * aux[l];
            }
            float dmin = f16(w, bo + 2) * yd;
            sumf -= dmin * sumi;
        }
        return addLanes(sumf, sums);
    }
}
