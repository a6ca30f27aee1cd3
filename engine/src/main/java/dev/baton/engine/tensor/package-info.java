/**
 * CPU tensor kernels: the matrix products and vector operations of the forward pass.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.tensor.WeightMatrix}: a 2-D weight tensor left in the file mapping, with
 *       its matmul (row range x batch of vectors) and row dequantization.</li>
 *   <li>{@link dev.baton.engine.tensor.InputBatch}: input vectors converted once to a matrix's input type
 *       (F32, F16, BF16 or Q8_0), reused across matrices and threads.</li>
 *   <li>{@link dev.baton.engine.tensor.FloatOps}: dot, axpy and store over the off-heap KV cache, RMS norm.</li>
 *   <li>{@link dev.baton.engine.tensor.KernelMode}: Vector API kernels or the plain-Java reference.</li>
 *   <li>{@link dev.baton.engine.tensor.UnsupportedTensorException}: a tensor without kernels.</li>
 *   <li>{@code F32Matrix}, {@code F16Matrix}, {@code Bf16Matrix}, {@code Q8Matrix}, {@code Q4Matrix}:
 *       one class per weight format, scalar kernels and row dequantization.</li>
 *   <li>{@code VectorKernels}: the Vector API kernels, loaded only where the module is present.</li>
 *   <li>{@code HalfFloats}: fp16 and bf16 conversions bit-exact with ggml.</li>
 *   <li>{@code VectorProbe}: checks that the Vector API links and has 8 or 16 float lanes.</li>
 * </ul>
 *
 * <p>Every kernel is single-threaded, allocation-free and deterministic: an output element's
 * reduction order depends only on the matrix and the element, never on the batch size, the row
 * range or the thread. Callers parallelize by splitting row ranges.
 */
package dev.baton.engine.tensor;
