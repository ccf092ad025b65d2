/*
 * jb_kernels.h — the math of joulebench: pure functions over caller-owned buffers.
 *
 * Weight storage types (f32, bf16, q8_0, q4_0, q4_k), the per-CPU kernel table (a scalar reference and
 * faster paths that override its slots), dtype-aware matrix products on OpenBLAS, norms, RoPE,
 * softmax, gated MLP activations, attention over a KV cache and sampling. No I/O, no globals:
 * everything a function touches is passed in. Matrices are row-major.
 */
#ifndef JB_KERNELS_H
#define JB_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jb_error.h"
#include "jb_rng.h"

/* ---- storage types ------------------------------------------------------------------------ */

enum jb_dtype {
    JB_DTYPE_F32,
    JB_DTYPE_BF16, /* stored as the top 16 bits of an f32, computed in f32 */
    JB_DTYPE_Q8_0, /* blocks of 32 int8 weights with one fp16 scale (llama.cpp's block_q8_0) */
    JB_DTYPE_Q4_0, /* blocks of 32 4-bit weights with one fp16 scale (llama.cpp's block_q4_0) */
    JB_DTYPE_Q4_K, /* 256-weight super-blocks, 6-bit sub-block scales and mins (block_q4_K) */
    JB_DTYPE_COUNT
};

#define JB_QK8_0 32

/* llama.cpp's q8_0 block: value[i] = d * qs[i]; 34 bytes for 32 weights (8.5 bits/weight).
 * A row of n values takes ceil(n / 32) blocks; a partial last block is zero-padded. */
typedef struct {
    uint16_t d; /* scale, IEEE fp16 bits */
    int8_t qs[JB_QK8_0];
} jb_block_q8_0;

#define JB_QK4_0 32

/* llama.cpp's q4_0 block: value[i] = d * (q[i] - 8) with q[i] in [0, 15]; qs[j] holds q[j] in
 * its low nibble and q[j + 16] in its high nibble. 18 bytes for 32 weights (4.5 bits/weight). */
typedef struct {
    uint16_t d; /* scale, IEEE fp16 bits */
    uint8_t qs[JB_QK4_0 / 2];
} jb_block_q4_0;

#define JB_QK_K 256
#define JB_K_SCALE_SIZE 12

/* llama.cpp's block_q4_K: 8 sub-blocks of 32 weights, value = d * sc[s] * q - dmin * m[s] with
 * q in [0, 15] and 6-bit sc, m packed into scales[12] (llama.cpp's get_scale_min_k4 layout);
 * qs holds, for each 64-value chunk c, 32 bytes: low nibbles are values 64c..64c+31 (sub-block
 * 2c), high nibbles 64c+32..64c+63 (sub-block 2c+1). 144 bytes per 256 weights (4.5 bits). */
typedef struct {
    uint16_t d;    /* super-block scale of the scales, fp16 bits */
    uint16_t dmin; /* super-block scale of the mins, fp16 bits */
    uint8_t scales[JB_K_SCALE_SIZE];
    uint8_t qs[JB_QK_K / 2];
} jb_block_q4_k;

_Static_assert(sizeof(jb_block_q8_0) == 34, "block_q8_0 is llama.cpp's 34 bytes");
_Static_assert(sizeof(jb_block_q4_0) == 18, "block_q4_0 is llama.cpp's 18 bytes");
_Static_assert(sizeof(jb_block_q4_k) == 144, "block_q4_K is llama.cpp's 144 bytes");

/* An activation row quantized for q8_0 dot products (ours, not llama.cpp's): per block of 32
 * an f32 scale, the int8 values and their absolute values. Activations are quantized once per
 * matmul and reused by every weight row, so precomputing |q| and keeping the scale in f32
 * takes work out of the inner loop (and the f32 scale is slightly more accurate). */
typedef struct {
    float d;
    int8_t qs[JB_QK8_0];
    uint8_t aqs[JB_QK8_0]; /* |qs| */
    int32_t sum;           /* sum of qs: the q4_K dot's min term needs sum(x) per sub-block */
} jb_block_q8_x;

/* fp16 -> f32 for every bit pattern, generated at build time (gen_fp16_table.c): turns each
 * block's scale conversion into a load. */
extern const float jb_fp16_table[65536];

const char *jb_dtype_name(enum jb_dtype t);
/* Parses "f32", "bf16", "q8_0", "q4_0" or "q4_k" into *out; JB_EINVAL for anything else. */
int jb_dtype_parse(const char *s, enum jb_dtype *out);
/* Bytes one row of n values takes in storage type t. */
size_t jb_dtype_row_bytes(enum jb_dtype t, int64_t n);

/* Scalar conversions (round to nearest even; NaN stays NaN). */
float jb_fp16_to_f32(uint16_t h);
uint16_t jb_f32_to_fp16(float f);
static inline float jb_bf16_to_f32(uint16_t h)
{
    union {
        uint32_t u;
        float f;
    } v = { .u = (uint32_t)h << 16 };
    return v.f;
}
uint16_t jb_f32_to_bf16(float f);

/* Converts n f32 values into one row of storage type t at dst (jb_dtype_row_bytes(t, n) bytes). */
void jb_row_from_f32(enum jb_dtype t, void *dst, const float *src, int64_t n);

/* ---- kernel table: a reference path and faster ones that override its slots ------------- */

struct jb_tensor;

struct jb_kernel_ops {
    const char *name;
    /* (optional) the instruction-set extensions this table uses beyond its name, e.g. "vnni,bf16" */
    const char *features;
    /* sum of n values; also the harness's read-bandwidth ruler */
    float (*sum_f32)(const float *a, int64_t n);
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    /* dot(w, x) with w stored bf16 and x in f32 */
    float (*dot_bf16)(const uint16_t *w, const float *x, int64_t n);
    /* dot of a q8_0 weight row and a quantized activation row, n_blocks blocks each.
     * Weights must lie in [-127, 127], as quantize_q8_0 produces them. */
    float (*dot_q8_0)(const jb_block_q8_0 *w, const jb_block_q8_x *x, int64_t n_blocks);
    /* quantizes n f32 values into ceil(n/32) weight blocks (the last one zero-padded); a block
     * whose largest magnitude is below 127 * FLT_MIN is stored as zeros */
    void (*quantize_q8_0)(const float *x, jb_block_q8_0 *out, int64_t n);
    /* quantizes n f32 activations into ceil(n/32) blocks (the last one zero-padded), every
     * field filled: the q4 dots read .sum */
    void (*quantize_q8_x)(const float *x, jb_block_q8_x *out, int64_t n);
    void (*dequant_q8_0)(const jb_block_q8_0 *w, float *out, int64_t n);
    void (*bf16_to_f32)(const uint16_t *w, float *out, int64_t n);
    /* dot of a q4_0 weight row (n_blocks blocks) and a quantized activation row */
    float (*dot_q4_0)(const jb_block_q4_0 *w, const jb_block_q8_x *x, int64_t n_blocks);
    /* dot of a q4_K weight row (n_super super-blocks) and 8 * n_super activation blocks */
    float (*dot_q4_k)(const jb_block_q4_k *w, const jb_block_q8_x *x, int64_t n_super);
    void (*dequant_q4_0)(const jb_block_q4_0 *w, float *out, int64_t n);
    void (*dequant_q4_k)(const jb_block_q4_k *w, float *out, int64_t n);
    /* (optional) direct prefill GEMMs, y (n, w->rows) = x (n, w->cols) · wᵀ without widening
     * the weights (gemm_q.c; multi-threaded, scratch as jb_matmul's). NULL: widen + sgemm. */
    void (*gemm_q8_0)(float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
    void (*gemm_q4_0)(float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
    void (*gemm_q4_k)(float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
    void (*gemm_bf16)(float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
};

/* The scalar reference: the oracle every other path is tested against. */
const struct jb_kernel_ops *jb_kernels_ref(void);
/* AVX2+FMA+F16C path, or NULL when this CPU lacks them. */
const struct jb_kernel_ops *jb_kernels_avx2(void);
/* AVX-512 (F/BW/VL, with VNNI and BF16 where present) path, or NULL when this CPU or its OS
 * (XCR0) lacks it. */
const struct jb_kernel_ops *jb_kernels_avx512(void);
/* The fastest path this CPU supports. */
const struct jb_kernel_ops *jb_kernels_best(void);
/* "ref", "avx2", "avx512" or "auto" (NULL also means auto); NULL when the name is unknown or
 * the path is unsupported on this CPU. */
const struct jb_kernel_ops *jb_kernels_by_name(const char *name);
/* jb_kernels_by_name that says why not: JB_EINVAL for an unknown name, JB_ENOTSUP for a table
 * this CPU (or its OS) lacks, each with one line in *err naming the table. */
int jb_kernels_lookup(const char *name, const struct jb_kernel_ops **out, struct jb_err *err);

/* Reference slots, exported so faster tables can reuse what they do not override. */
float jb_ref_sum_f32(const float *a, int64_t n);
float jb_ref_dot_f32(const float *a, const float *b, int64_t n);
float jb_ref_dot_bf16(const uint16_t *w, const float *x, int64_t n);
float jb_ref_dot_q8_0(const jb_block_q8_0 *w, const jb_block_q8_x *x, int64_t n_blocks);
void jb_ref_quantize_q8_0(const float *x, jb_block_q8_0 *out, int64_t n);
void jb_ref_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n);
void jb_ref_dequant_q8_0(const jb_block_q8_0 *w, float *out, int64_t n);
void jb_ref_bf16_to_f32(const uint16_t *w, float *out, int64_t n);
float jb_ref_dot_q4_0(const jb_block_q4_0 *w, const jb_block_q8_x *x, int64_t n_blocks);
float jb_ref_dot_q4_k(const jb_block_q4_k *w, const jb_block_q8_x *x, int64_t n_super);
void jb_ref_dequant_q4_0(const jb_block_q4_0 *w, float *out, int64_t n);
void jb_ref_dequant_q4_k(const jb_block_q4_k *w, float *out, int64_t n);
/* Weight quantizers (load time only, so no table slot). n values into ceil(n/32) q4_0 blocks or
 * ceil(n/256) q4_K super-blocks; a partial last block is padded with zeros before quantizing
 * (the padding takes part in the block's scale and min, and the dot products read it as 0
 * against zero-padded activations). Non-finite values never cause undefined behaviour: a NaN
 * is stored as a weight of 0 (q4_0) or the sub-block's minimum (q4_K); an infinity makes its
 * block's scale infinite. */
void jb_ref_quantize_q4_0(const float *x, jb_block_q4_0 *out, int64_t n);
void jb_ref_quantize_q4_k(const float *x, jb_block_q4_k *out, int64_t n);
/* The 6-bit scale and min of sub-block j (0..7) of a q4_K block (llama.cpp's get_scale_min_k4). */
void jb_q4_k_scale_min(const uint8_t scales[JB_K_SCALE_SIZE], int j, uint8_t *sc, uint8_t *m);

/* ---- matrix products -------------------------------------------------------------------- */

/* A weight matrix in Hugging Face Linear layout: rows = output features, cols = input. */
struct jb_tensor {
    enum jb_dtype dtype;
    int64_t rows, cols;
    void *data; /* (rows, cols) in dtype, row-major, rows of jb_dtype_row_bytes(dtype, cols) */
};

enum jb_matmul_path {
    JB_MATMUL_AUTO, /* GEMV-style for a few activation rows, GEMM for many */
    JB_MATMUL_GEMV, /* weights streamed once, each row dotted with every activation row */
    JB_MATMUL_GEMM, /* the faster prefill path for this table and shape (one of the two below) */
    JB_MATMUL_GEMM_WIDEN,  /* cblas_sgemm (f32) or per-thread widened panels fed to cblas_sgemm */
    JB_MATMUL_GEMM_DIRECT, /* the table's gemm_<dtype> slot where it has one, else WIDEN */
};

/* Activation rows from which AUTO switches from GEMV to GEMM for bf16 and quantized weights. */
#define JB_MATMUL_GEMM_MIN_ROWS 16

/* Whether jb_matmul with `path` (GEMM, GEMM_WIDEN or GEMM_DIRECT; AUTO once it chose GEMM) runs
 * table k's direct GEMM for w and n rows (activations rounded to bf16 or quantized to q8_0) rather
 * than widening the weights to f32 for cblas_sgemm. */
bool jb_matmul_gemm_direct(const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t n,
    enum jb_matmul_path path);

/* Scratch bytes jb_matmul needs for n activation rows with n_threads OpenMP threads. */
size_t jb_matmul_scratch_bytes(const struct jb_tensor *w, int64_t n, int n_threads);

/* y (n, w->rows) = x (n, w->cols) · wᵀ, multi-threaded with OpenMP (omp_get_max_threads()).
 * scratch: at least jb_matmul_scratch_bytes(w, n, omp_get_max_threads()) bytes. */
void jb_matmul(const struct jb_kernel_ops *k, float *y, const float *x, const struct jb_tensor *w,
    int64_t n, void *scratch, size_t scratch_bytes, enum jb_matmul_path path);

/* ---- element-wise and row operations ---------------------------------------------------- */

/* out = x / sqrt(mean(x²) + eps) * w  (Hugging Face LlamaRMSNorm). out may equal x. */
void jb_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps);
/* out = (x - mean) / sqrt(var + eps) * w + b; b may be NULL. out may equal x. */
void jb_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n, float eps);
/* In-place numerically stable softmax (max subtracted first). */
void jb_softmax(float *x, int64_t n);
/* out[i] = silu(gate[i]) * up[i] */
void jb_swiglu(float *out, const float *gate, const float *up, int64_t n);
/* out[i] = gelu_tanh(gate[i]) * up[i]   (PyTorch gelu(approximate="tanh")) */
void jb_geglu_tanh(float *out, const float *gate, const float *up, int64_t n);
/* out[i] = gelu_erf(gate[i]) * up[i]    (exact GELU) */
void jb_geglu_erf(float *out, const float *gate, const float *up, int64_t n);
/* y[i] += x[i] */
void jb_add(float *y, const float *x, int64_t n);
/* y[i] *= s */
void jb_scale(float *y, float s, int64_t n);
/* Row `row` of a weight matrix converted to f32 (embedding lookup). out: (w->cols). */
void jb_tensor_row_f32(
    const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t row, float *out);

/* Rotary embedding, Hugging Face "rotate half" convention: for each head and i < d/2,
 *   x[i]       = x[i] cos_i - x[i + d/2] sin_i,   x[i + d/2] = x[i + d/2] cos_i + x[i] sin_i.
 * x: (n_heads, head_dim); cos, sin: (head_dim / 2) for this token's position. */
void jb_rope(float *x, int64_t n_heads, int64_t head_dim, const float *cos, const float *sin);

/* ---- attention -------------------------------------------------------------------------- */

/* Causal grouped-query attention for n new tokens of one sequence at positions pos0..pos0+n-1.
 *   q:    (n, n_heads * head_dim) with rows ldq floats apart, RoPE applied
 *   k, v: (n_kv_heads, ctx_cap, head_dim), this sequence's cache, holding positions 0..pos0+n-1
 *   out:  (n, n_heads * head_dim)
 * Query head h reads KV head h / (n_heads / n_kv_heads). Scores are scaled by `scale`.
 * scratch: jb_attention_scratch_floats(n, pos0 + n, omp_get_max_threads()) floats. */
struct jb_attn_shape {
    int64_t n_heads, n_kv_heads, head_dim, ctx_cap;
    float scale;
};
size_t jb_attention_scratch_floats(int64_t n, int64_t ctx_len, int n_threads);
void jb_attention(float *out, const float *q, int64_t ldq, const float *k, const float *v,
    int64_t n, int64_t pos0, const struct jb_attn_shape *s, float *scratch);

/* ---- sampling ----------------------------------------------------------------------------- */

/* Index of the largest value (the first one on ties). */
int64_t jb_argmax(const float *x, int64_t n);

struct jb_prob_index {
    float p;
    int32_t i;
};

/* Samples a token: temperature <= 0 is greedy; otherwise softmax(logits / temperature)
 * restricted to the smallest set of most-likely tokens whose mass reaches top_p (0 < top_p <= 1,
 * ties broken by lower index), drawn with *rng. logits are overwritten. scratch: (n). */
int64_t jb_sample(float *logits, int64_t n, float temperature, float top_p, uint64_t *rng,
    struct jb_prob_index *scratch);

#endif
