// Baton's GPU kernels. Compiled by nvcc during the Maven build (cuda/build-kernels.sh) to PTX for
// compute_90 and a cubin for sm_90, packaged as resources and loaded through JCuda's driver API.
//
// Every kernel is extern "C" (plain names for cuModuleGetFunction) and computes each output value in
// a fixed order that depends only on that value's inputs, never on the launch's batch (the engine's
// determinism contract, docs/design.md §4):
//   - products: one warp per tile of outputs; lane j accumulates the columns j, j+32, j+64, ... in
//     order, then the 32 partial sums meet in one xor butterfly. A tile of 8 tokens and a tile of one
//     give each output the same bits, so decode and prefill, batch of 1 or 64, agree.
//   - attention: a token's context is cut into fixed chunks of BATON_ATTN_CHUNK positions (as on the
//     CPU), one thread block per (token, head, chunk), merged in chunk order by a second kernel.
//   - reductions inside a block (norms, softmax) run in one order for a given block size, and the host
//     always launches them with the same block size (LaunchGeometry).
//
// Weight layouts are ggml's: F32, F16, BF16 elements; Q8_0 blocks of 32 (f16 d, int8 q[32]); Q4_0
// blocks of 32 (f16 d, 16 bytes: element j < 16 in the low nibble of byte j, j >= 16 in the high
// nibble of byte j - 16, value q - 8); the K-quants Q4_K (144 bytes a super-block of 256) and Q6_K
// (210 bytes), as engine/.../tensor/KQuants spells them out. Rows are contiguous, rowBytes apart.
//
// The KV block layout is the CPU's (KvCacheSpec): block = layer[L] | layer = K | V |
// K, V = kvHead[H] | head = position[B] | position = headDim elements (F32 or F16).

#include <cuda_fp16.h>
#include <stdint.h>

#define BATON_ATTN_CHUNK 256   // positions per split-K chunk: PagedAttention.CHUNK on the CPU
#define BATON_MAX_HEAD_DIM 256

enum { W_F32 = 0, W_F16 = 1, W_BF16 = 2, W_Q8_0 = 3, W_Q4_0 = 4, W_Q4_K = 5, W_Q6_K = 6 };

// ---- helpers ------------------------------------------------------------------------------------

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024), the same order for a given block size.
__device__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? scratch[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

__device__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    v = warp_max(v);
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? scratch[lane] : -INFINITY;
    v = warp_max(v);
    __syncthreads();
    return v;
}

__device__ __forceinline__ float bf16_to_float(uint16_t bits) {
    return __uint_as_float(((uint32_t) bits) << 16);
}

// Element (32 * group + lane) of a weight row.
template <int TYPE>
__device__ __forceinline__ float load_weight(const uint8_t* __restrict__ row, int group, int lane) {
    if (TYPE == W_F32) {
        return reinterpret_cast<const float*>(row)[group * 32 + lane];
    } else if (TYPE == W_F16) {
        return __half2float(reinterpret_cast<const __half*>(row)[group * 32 + lane]);
    } else if (TYPE == W_BF16) {
        return bf16_to_float(reinterpret_cast<const uint16_t*>(row)[group * 32 + lane]);
    } else if (TYPE == W_Q8_0) {
        const uint8_t* b = row + group * 34;
        float d = __half2float(*reinterpret_cast<const __half*>(b));
        return d * (float) (int8_t) b[2 + lane];
    } else if (TYPE == W_Q4_0) {
        const uint8_t* b = row + group * 18;
        float d = __half2float(*reinterpret_cast<const __half*>(b));
        uint8_t q = b[2 + (lane & 15)];
        int v = (lane < 16 ? (q & 15) : (q >> 4)) - 8;
        return d * (float) v;
    } else if (TYPE == W_Q4_K) {
        // super-block: d, dmin (f16), scales[12] (8 6-bit scales and mins), qs[128]: sub-block j of 32 values is
        // the low (j even) or high (j odd) nibbles of qs[32 (j / 2) .. + 32]; value = d scale q - dmin min
        const uint8_t* b = row + (group >> 3) * 144;
        int j = group & 7;
        const uint8_t* sc = b + 4;
        int scale = j < 4 ? sc[j] & 63 : (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4);
        int mn = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
        float d = __half2float(*reinterpret_cast<const __half*>(b));
        float dmin = __half2float(*reinterpret_cast<const __half*>(b + 2));
        int q = (b[16 + 32 * (j >> 1) + lane] >> (4 * (j & 1))) & 0xF;
        return __fsub_rn(__fmul_rn(d * (float) scale, (float) q), dmin * (float) mn);
    } else {
        // Q6_K super-block: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d; value index i of
        // 256 sits in half n = i / 128, quarter i % 128 / 32, column l = i % 32; value = d scale (q - 32)
        const uint8_t* b = row + (group >> 3) * 210;
        int i = (group & 7) * 32 + lane;
        int n = i >> 7;
        int quarter = (i >> 5) & 3;
        int l = lane;
        const uint8_t* ql = b + 64 * n;
        uint8_t h = b[128 + 32 * n + l];
        int low = quarter & 1 ? ql[l + 32] : ql[l];
        int q = ((quarter < 2 ? low & 0xF : low >> 4) | (((h >> (2 * quarter)) & 3) << 4)) - 32;
        float scale = (float) (int8_t) b[192 + 8 * n + (l >> 4) + 2 * quarter];
        float d = __half2float(*reinterpret_cast<const __half*>(b + 208));
        return __fmul_rn(d * scale, (float) q);
    }
}

// ---- embedding gather ---------------------------------------------------------------------------

// out(t, :) = table row tokens[t], as floats. Grid: tokens; block: any multiple of 32.
template <int TYPE>
__device__ void embed(const uint8_t* __restrict__ table, long rowBytes, const int* __restrict__ tokens,
        float* __restrict__ out, int dim) {
    int t = blockIdx.x;
    const uint8_t* row = table + (long) tokens[t] * rowBytes;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        out[(long) t * dim + c] = load_weight<TYPE>(row, c >> 5, c & 31);
    }
}

#define BATON_EMBED(NAME, TYPE)                                                                              \
    extern "C" __global__ void NAME(const uint8_t* table, long rowBytes, const int* tokens, float* out, int dim) { \
        embed<TYPE>(table, rowBytes, tokens, out, dim);                                                         \
    }
BATON_EMBED(baton_embed_f32, W_F32)
BATON_EMBED(baton_embed_f16, W_F16)
BATON_EMBED(baton_embed_bf16, W_BF16)
BATON_EMBED(baton_embed_q8_0, W_Q8_0)
BATON_EMBED(baton_embed_q4_0, W_Q4_0)
BATON_EMBED(baton_embed_q4_k, W_Q4_K)
BATON_EMBED(baton_embed_q6_k, W_Q6_K)

// ---- RMSNorm ------------------------------------------------------------------------------------

// out(r, :) = x(rows ? rows[r] : r, :) * w / sqrt(mean(x^2) + eps). Grid: output rows; block: 256.
extern "C" __global__ void baton_rmsnorm(const float* __restrict__ x, const float* __restrict__ w,
        float* __restrict__ out, int dim, float eps, const int* __restrict__ rows) {
    __shared__ float scratch[32];
    int r = blockIdx.x;
    const float* in = x + (long) (rows == nullptr ? r : rows[r]) * dim;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        ss = fmaf(in[c], in[c], ss);
    }
    ss = block_sum(ss, scratch);
    float scale = rsqrtf(ss / (float) dim + eps);
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        out[(long) r * dim + c] = in[c] * scale * w[c];
    }
}

// ---- matrix products ----------------------------------------------------------------------------

// Y(t, r) = sum_c W(r, c) X(t, c) for t < tokens, r < rows; cols a multiple of 32.
// One warp per tile of TM tokens x TN rows; blocks of 4 warps along the rows; grid (ceil(rows / 4 TN),
// ceil(tokens / TM)). Lane j accumulates the columns j, j+32, ... of every output of its tile in column
// order, then a butterfly sums the lanes: an output's bits do not depend on TM, TN or the tile.
template <int TYPE, int TM, int TN>
__device__ void gemm(const uint8_t* __restrict__ W, long rowBytes, const float* __restrict__ X, int ldx,
        float* __restrict__ Y, int ldy, int rows, int cols, int tokens) {
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int r0 = (blockIdx.x * (blockDim.x >> 5) + warp) * TN;
    int t0 = blockIdx.y * TM;
    if (r0 >= rows) {
        return;
    }
    float acc[TM][TN];
#pragma unroll
    for (int m = 0; m < TM; m++) {
#pragma unroll
        for (int n = 0; n < TN; n++) {
            acc[m][n] = 0.0f;
        }
    }
    const int groups = cols >> 5;
    for (int g = 0; g < groups; g++) {
        float w[TN];
#pragma unroll
        for (int n = 0; n < TN; n++) {
            int r = r0 + n;
            w[n] = r < rows ? load_weight<TYPE>(W + (long) r * rowBytes, g, lane) : 0.0f;
        }
        int c = (g << 5) + lane;
#pragma unroll
        for (int m = 0; m < TM; m++) {
            int t = t0 + m;
            float xv = t < tokens ? X[(long) t * ldx + c] : 0.0f;
#pragma unroll
            for (int n = 0; n < TN; n++) {
                acc[m][n] = fmaf(w[n], xv, acc[m][n]);
            }
        }
    }
#pragma unroll
    for (int m = 0; m < TM; m++) {
#pragma unroll
        for (int n = 0; n < TN; n++) {
            float v = warp_sum(acc[m][n]);
            int t = t0 + m;
            int r = r0 + n;
            if (lane == 0 && t < tokens && r < rows) {
                Y[(long) t * ldy + r] = v;
            }
        }
    }
}

#define BATON_GEMM(NAME, TYPE, TM, TN)                                                                       \
    extern "C" __global__ void __launch_bounds__(128) NAME(const uint8_t* W, long rowBytes, const float* X,    \
            int ldx, float* Y, int ldy, int rows, int cols, int tokens) {                                      \
        gemm<TYPE, TM, TN>(W, rowBytes, X, ldx, Y, ldy, rows, cols, tokens);                                   \
    }
// decode (one token: TM 1), small batches (TM 4) and prefill tiles (TM 8); 8 rows per warp
BATON_GEMM(baton_gemm_f32_t1, W_F32, 1, 8)
BATON_GEMM(baton_gemm_f32_t4, W_F32, 4, 8)
BATON_GEMM(baton_gemm_f32_t8, W_F32, 8, 8)
BATON_GEMM(baton_gemm_f16_t1, W_F16, 1, 8)
BATON_GEMM(baton_gemm_f16_t4, W_F16, 4, 8)
BATON_GEMM(baton_gemm_f16_t8, W_F16, 8, 8)
BATON_GEMM(baton_gemm_bf16_t1, W_BF16, 1, 8)
BATON_GEMM(baton_gemm_bf16_t4, W_BF16, 4, 8)
BATON_GEMM(baton_gemm_bf16_t8, W_BF16, 8, 8)
BATON_GEMM(baton_gemm_q8_0_t1, W_Q8_0, 1, 8)
BATON_GEMM(baton_gemm_q8_0_t4, W_Q8_0, 4, 8)
BATON_GEMM(baton_gemm_q8_0_t8, W_Q8_0, 8, 8)
BATON_GEMM(baton_gemm_q4_0_t1, W_Q4_0, 1, 8)
BATON_GEMM(baton_gemm_q4_0_t4, W_Q4_0, 4, 8)
BATON_GEMM(baton_gemm_q4_0_t8, W_Q4_0, 8, 8)
BATON_GEMM(baton_gemm_q4_k_t1, W_Q4_K, 1, 8)
BATON_GEMM(baton_gemm_q4_k_t4, W_Q4_K, 4, 8)
BATON_GEMM(baton_gemm_q4_k_t8, W_Q4_K, 8, 8)
BATON_GEMM(baton_gemm_q6_k_t1, W_Q6_K, 1, 8)
BATON_GEMM(baton_gemm_q6_k_t4, W_Q6_K, 4, 8)
BATON_GEMM(baton_gemm_q6_k_t8, W_Q6_K, 8, 8)

// ---- elementwise --------------------------------------------------------------------------------

// gate = silu(gate) * up
extern "C" __global__ void baton_swiglu(float* __restrict__ gate, const float* __restrict__ up, long n) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        float g = gate[i];
        gate[i] = g / (1.0f + __expf(-g)) * up[i];
    }
}

// a += b
extern "C" __global__ void baton_add(float* __restrict__ a, const float* __restrict__ b, long n) {
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        a[i] += b[i];
    }
}

// a(t, :) += bias for t < rows
extern "C" __global__ void baton_add_bias(float* __restrict__ a, const float* __restrict__ bias, int rows, int width) {
    long n = (long) rows * width;
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) gridDim.x * blockDim.x) {
        a[i] += bias[i % width];
    }
}

// ---- RoPE fused with the paged KV write ---------------------------------------------------------

struct KvGeometry {
    long blockBytes;   // one block: every layer's K and V
    long layerBytes;   // 2 * kvHeads * headRunBytes
    long headRunBytes; // blockSize rows
    int rowBytes;      // one position of one head
    int blockSize;
    int maxBlocks;     // block-table row length
};

template <typename KV>
__device__ __forceinline__ void store_kv(uint8_t* dst, int d, float v);
template <>
__device__ __forceinline__ void store_kv<float>(uint8_t* dst, int d, float v) {
    reinterpret_cast<float*>(dst)[d] = v;
}
template <>
__device__ __forceinline__ void store_kv<__half>(uint8_t* dst, int d, float v) {
    reinterpret_cast<__half*>(dst)[d] = __float2half_rn(v);
}

template <typename KV>
__device__ __forceinline__ float load_kv(const uint8_t* src, int d);
template <>
__device__ __forceinline__ float load_kv<float>(const uint8_t* src, int d) {
    return reinterpret_cast<const float*>(src)[d];
}
template <>
__device__ __forceinline__ float load_kv<__half>(const uint8_t* src, int d) {
    return __half2float(reinterpret_cast<const __half*>(src)[d]);
}

__device__ __forceinline__ long kv_offset(const KvGeometry& g, int block, int layer, bool value, int kvHeads, int head,
        int slot) {
    return (long) block * g.blockBytes + (long) layer * g.layerBytes + (long) ((value ? kvHeads : 0) + head) * g.headRunBytes
            + (long) slot * g.rowBytes;
}

// Rotates q (T, heads, hd) and k (T, kvHeads, hd) in place, then writes k and v rows into the paged KV
// of layer `layer`, and (staging not null) into staging, packed by (token, layer, K|V, head), rowBytes a row. Grid (T, heads + kvHeads); block: 128 threads. Angles as the CPU computes them:
// theta = pos * base^(-2i / ropeDims) [/ freqs[i]], in double.
template <typename KV>
__device__ void rope_store(float* __restrict__ q, float* __restrict__ k, const float* __restrict__ v,
        const int* __restrict__ positions, const int* __restrict__ tokenSeq, const int* __restrict__ blockTables,
        uint8_t* __restrict__ kv, KvGeometry geo, int layer, int heads, int kvHeads, int hd, int ropeDims,
        double base, const float* __restrict__ freqs, int neox, uint8_t* __restrict__ staging, int layers) {
    int t = blockIdx.x;
    int h = blockIdx.y;
    bool isK = h >= heads;
    int head = isK ? h - heads : h;
    float* a = isK ? k + ((long) t * kvHeads + head) * hd : q + ((long) t * heads + head) * hd;
    int pos = positions[t];
    int half = ropeDims / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        double theta = pos * pow(base, -2.0 * i / ropeDims);
        if (freqs != nullptr) {
            theta /= freqs[i];
        }
        float c = (float) cos(theta);
        float s = (float) sin(theta);
        int i0 = neox ? i : 2 * i;
        int i1 = neox ? i + half : 2 * i + 1;
        float x0 = a[i0];
        float x1 = a[i1];
        a[i0] = x0 * c - x1 * s;
        a[i1] = x0 * s + x1 * c;
    }
    if (!isK) {
        return;
    }
    __syncthreads();
    int seq = tokenSeq[t];
    int block = blockTables[(long) seq * geo.maxBlocks + pos / geo.blockSize];
    int slot = pos % geo.blockSize;
    uint8_t* kd = kv + kv_offset(geo, block, layer, false, kvHeads, head, slot);
    uint8_t* vd = kv + kv_offset(geo, block, layer, true, kvHeads, head, slot);
    const float* vs = v + ((long) t * kvHeads + head) * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        store_kv<KV>(kd, d, a[d]);
        store_kv<KV>(vd, d, vs[d]);
    }
    if (staging != nullptr) { // the same rows, packed (token, layer, K|V, head) for one copy to the host's pool
        uint8_t* ks = staging + ((((long) t * layers + layer) * 2 + 0) * kvHeads + head) * geo.rowBytes;
        uint8_t* vs2 = staging + ((((long) t * layers + layer) * 2 + 1) * kvHeads + head) * geo.rowBytes;
        for (int d = threadIdx.x; d < hd; d += blockDim.x) {
            store_kv<KV>(ks, d, a[d]);
            store_kv<KV>(vs2, d, vs[d]);
        }
    }
}

#define BATON_ROPE_STORE(NAME, KV)                                                                           \
    extern "C" __global__ void NAME(float* q, float* k, const float* v, const int* positions, const int* tokenSeq, \
            const int* blockTables, uint8_t* kv, KvGeometry geo, int layer, int heads, int kvHeads, int hd,          \
            int ropeDims, double base, const float* freqs, int neox, uint8_t* staging, int layers) {               \
        rope_store<KV>(q, k, v, positions, tokenSeq, blockTables, kv, geo, layer, heads, kvHeads, hd, ropeDims,     \
                base, freqs, neox, staging, layers);                                                               \
    }
BATON_ROPE_STORE(baton_rope_store_f32, float)
BATON_ROPE_STORE(baton_rope_store_f16, __half)

// ---- paged attention, split-K -------------------------------------------------------------------

// Token t (of sequence tokenSeq[t], at position positions[t]) attends to positions [0, positions[t]] of
// its sequence. One block per (token, head, chunk of BATON_ATTN_CHUNK positions); blocks past the token's
// context exit. Each writes, unnormalized, acc(d) = sum_p exp(s_p - m) V_p(d), its max m and its sum
// l = sum_p exp(s_p - m) to partial[((t * heads + h) * maxChunks + chunk) * (hd + 2)].
// Grid (T, heads, maxChunks); block: 128 threads; q pre-scaled by the host's 1/sqrt(hd).
template <typename KV>
__device__ void attention_partial(const float* __restrict__ q, const uint8_t* __restrict__ kv,
        const int* __restrict__ positions, const int* __restrict__ tokenSeq, const int* __restrict__ blockTables,
        KvGeometry geo, int layer, int heads, int kvHeads, int hd, float scale, int maxChunks,
        float* __restrict__ partial) {
    __shared__ float qs[BATON_MAX_HEAD_DIM];
    __shared__ float scores[BATON_ATTN_CHUNK];
    __shared__ float scratch[32];
    int t = blockIdx.x;
    int h = blockIdx.y;
    int chunk = blockIdx.z;
    int length = positions[t] + 1;
    int p0 = chunk * BATON_ATTN_CHUNK;
    if (p0 >= length) {
        return;
    }
    int p1 = min(length, p0 + BATON_ATTN_CHUNK);
    int kvHead = h / (heads / kvHeads);
    int seq = tokenSeq[t];
    const int* table = blockTables + (long) seq * geo.maxBlocks;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        qs[d] = q[((long) t * heads + h) * hd + d] * scale;
    }
    __syncthreads();
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;
    for (int p = p0 + warp; p < p1; p += warps) {
        const uint8_t* kr = kv + kv_offset(geo, table[p / geo.blockSize], layer, false, kvHeads, kvHead, p % geo.blockSize);
        float s = 0.0f;
        for (int d = lane; d < hd; d += 32) {
            s = fmaf(qs[d], load_kv<KV>(kr, d), s);
        }
        s = warp_sum(s);
        if (lane == 0) {
            scores[p - p0] = s;
        }
    }
    __syncthreads();
    float m = -INFINITY;
    for (int i = threadIdx.x; i < p1 - p0; i += blockDim.x) {
        m = fmaxf(m, scores[i]);
    }
    m = block_max(m, scratch);
    float l = 0.0f;
    for (int i = threadIdx.x; i < p1 - p0; i += blockDim.x) {
        float e = __expf(scores[i] - m);
        scores[i] = e;
        l += e;
    }
    l = block_sum(l, scratch); // also orders the writes to scores before the reads below
    float* out = partial + (((long) t * heads + h) * maxChunks + chunk) * (hd + 2);
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float acc = 0.0f;
        for (int p = p0; p < p1; p++) {
            const uint8_t* vr = kv + kv_offset(geo, table[p / geo.blockSize], layer, true, kvHeads, kvHead, p % geo.blockSize);
            acc = fmaf(scores[p - p0], load_kv<KV>(vr, d), acc);
        }
        out[d] = acc;
    }
    if (threadIdx.x == 0) {
        out[hd] = m;
        out[hd + 1] = l;
    }
}

#define BATON_ATTENTION(NAME, KV)                                                                            \
    extern "C" __global__ void NAME(const float* q, const uint8_t* kv, const int* positions, \
            const int* tokenSeq, const int* blockTables, KvGeometry geo, int layer, int heads, int kvHeads, int hd,  \
            float scale, int maxChunks, float* partial) {                                                          \
        attention_partial<KV>(q, kv, positions, tokenSeq, blockTables, geo, layer, heads, kvHeads, hd, scale,       \
                maxChunks, partial);                                                                               \
    }
BATON_ATTENTION(baton_attention_partial_f32, float)
BATON_ATTENTION(baton_attention_partial_f16, __half)

// Merges a token's chunks in chunk order: out(t, h, :) = sum_c e^(m_c - M) acc_c / sum_c e^(m_c - M) l_c.
// Grid (T, heads); block: 128 threads.
extern "C" __global__ void baton_attention_merge(const float* __restrict__ partial, const int* __restrict__ positions,
        int heads, int hd, int maxChunks, float* __restrict__ out) {
    int t = blockIdx.x;
    int h = blockIdx.y;
    int chunks = (positions[t] + BATON_ATTN_CHUNK) / BATON_ATTN_CHUNK;
    const float* base = partial + ((long) t * heads + h) * maxChunks * (hd + 2);
    float m = -INFINITY;
    for (int c = 0; c < chunks; c++) {
        m = fmaxf(m, base[(long) c * (hd + 2) + hd]);
    }
    float l = 0.0f;
    for (int c = 0; c < chunks; c++) {
        const float* p = base + (long) c * (hd + 2);
        l = fmaf(__expf(p[hd] - m), p[hd + 1], l);
    }
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float acc = 0.0f;
        for (int c = 0; c < chunks; c++) {
            const float* p = base + (long) c * (hd + 2);
            acc = fmaf(__expf(p[hd] - m), p[d], acc);
        }
        out[((long) t * heads + h) * hd + d] = acc / l;
    }
}

// ---- sampling primitives ------------------------------------------------------------------------

// out[r] = the index of the largest logit of row r (the lowest such index on ties). Grid: rows; block: 1024.
extern "C" __global__ void baton_argmax(const float* __restrict__ logits, int vocab, int* __restrict__ out) {
    __shared__ float bestV[32];
    __shared__ int bestI[32];
    const float* row = logits + (long) blockIdx.x * vocab;
    float v = -INFINITY;
    int idx = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float x = row[i];
        if (x > v) { // strided ascending: the first maximum of this thread's share
            v = x;
            idx = i;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (ov > v || (ov == v && oi < idx)) {
            v = ov;
            idx = oi;
        }
    }
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    if (lane == 0) {
        bestV[warp] = v;
        bestI[warp] = idx;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int) (blockDim.x >> 5); w++) {
            if (bestV[w] > v || (bestV[w] == v && bestI[w] < idx)) {
                v = bestV[w];
                idx = bestI[w];
            }
        }
        out[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
    }
}

// probs(r, :) = softmax(logits(r, :) * invTemperature[r]). Grid: rows; block: 1024.
extern "C" __global__ void baton_softmax(const float* __restrict__ logits, const float* __restrict__ invTemperature,
        int vocab, float* __restrict__ probs) {
    __shared__ float scratch[32];
    const float* row = logits + (long) blockIdx.x * vocab;
    float* p = probs + (long) blockIdx.x * vocab;
    float it = invTemperature[blockIdx.x];
    float m = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        m = fmaxf(m, row[i] * it);
    }
    m = block_max(m, scratch);
    float l = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float e = __expf(row[i] * it - m);
        p[i] = e;
        l += e;
    }
    l = block_sum(l, scratch);
    float inv = 1.0f / l;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        p[i] *= inv;
    }
}

// out[r] = the first index i with u[r] * sum(probs(r, :)) < probs(r, 0) + ... + probs(r, i): inverse-CDF
// sampling in index order. Each thread owns a contiguous share of the row; thread 0 scans the shares' sums
// in thread order, so the thread whose interval holds the target finds the index. Grid: rows; block: 1024.
extern "C" __global__ void __launch_bounds__(1024) baton_sample(const float* __restrict__ probs,
        const float* __restrict__ u, int vocab, int* __restrict__ out) {
    __shared__ float prefix[1024];
    __shared__ float target;
    __shared__ int choice;
    const float* row = probs + (long) blockIdx.x * vocab;
    int share = (vocab + blockDim.x - 1) / blockDim.x;
    int i0 = min(vocab, (int) threadIdx.x * share);
    int i1 = min(vocab, i0 + share);
    float s = 0.0f;
    for (int i = i0; i < i1; i++) {
        s += row[i];
    }
    prefix[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int j = 0; j < (int) blockDim.x; j++) {
            float x = prefix[j];
            prefix[j] = total;
            total += x;
        }
        target = u[blockIdx.x] * total;
        choice = -1;
    }
    __syncthreads();
    float acc = prefix[threadIdx.x];
    if (i0 < i1 && target >= acc && target < acc + s) {
        int pick = i1 - 1;
        for (int i = i0; i < i1; i++) {
            acc += row[i];
            if (target < acc) {
                pick = i;
                break;
            }
        }
        choice = pick;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int c = choice;
        for (int i = vocab - 1; c < 0 && i >= 0; i--) { // rounding put the target past the total
            if (row[i] > 0.0f) {
                c = i;
            }
        }
        out[blockIdx.x] = c < 0 ? 0 : c;
    }
}
