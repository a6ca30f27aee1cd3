package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.KQuants.f16;
import static dev.baton.engine.tensor.KQuants.u8;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;

/** Q2_K weights, scalar kernels (ggml's generic {@code ggml_vec_dot_q2_K_q8_K}); layout in {@link KQuants}. */
class Q2KMatrix extends KQuantMatrix {

    Q2KMatrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    float dot(long wo, InputBatch in, int v, int[] aux, float[] sums) {
        MemorySegment w = data;
        float[] xq = in.values;
        float sumf = 0f;
        for (int b = 0; b < blocks; b++) {
            long bo = wo + (long) b * 84;
            int xb = v * cols + b * QK_K;
            int gb = v * (cols / 16) + b * 16;
            int summs = 0;
            for (int g = 0; g < 16; g++) {
                summs += in.bsums[gb + g] * (u8(w, bo + g) >>> 4);
            }
            float yd = in.scales[v * blocks + b];
            float dall = yd * f16(w, bo + 80);
            float dmin = yd * f16(w, bo + 82);
            int isum = 0;
            // value i = 128n + 32j + l takes bits 2j, 2j+1 of qs[32n + l]; its scale is scales[i / 16]
            for (int i = 0; i < QK_K; i++) {
                int q = (u8(w, bo + 16 + ((i >>> 7) << 5) + (i & 31)) >>> (2 * ((i >>> 5) & 3))) & 3;
                isum += (u8(w, bo + (i >>> 4)) & 0xF) * (q * (int) xq[xb + i]);
            }
            sumf += dall * isum - dmin * summs;
        }
        return sumf;
    }
}
