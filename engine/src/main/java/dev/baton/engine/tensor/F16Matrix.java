package dev.baton.engine.tensor;

import static dev.baton.engine.tensor.HalfFloats.I16_LE;

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;

/** F16 weights, scalar kernels: a row is {@code cols} little-endian fp16 values; the input is fp16-rounded. */
class F16Matrix extends WeightMatrix {

    F16Matrix(GgufTensorInfo t) {
        super(t);
    }

    @Override
    public KernelMode mode() {
        return KernelMode.SCALAR;
    }

    @Override
    public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
        MemorySegment w = data;
        float[] x = in.values;
        for (int v = 0; v < in.vectorCount(); v++) {
            int xo = v * cols;
            int o = outOffset + v * outStride;
            for (int r = rowStart; r < rowEnd; r++) {
                long wo = r * rowBytes;
                double sum = 0;
                for (int i = 0; i < cols; i++) {
                    sum += HalfFloats.f16ToFloat(w.get(I16_LE, wo + 2L * i)) * x[xo + i];
                }
                out[o + r] = (float) sum;
            }
        }
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        checkRow(row, dst, dstOffset);
        long wo = row * rowBytes;
        for (int i = 0; i < cols; i++) {
            dst[dstOffset + i] = HalfFloats.f16ToFloat(data.get(I16_LE, wo + 2L * i));
        }
    }
}
