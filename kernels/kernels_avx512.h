/*
 * kernels_avx512.h — internal: the AVX-512 table's parts and the direct prefill GEMMs
 * (gemm_q.c). Everything declared here except the inline size helpers is compiled with the
 * AVX-512 flags: call it only after jb_kernels_avx512() returned non-NULL.
 */
#ifndef JB_KERNELS_AVX512_H
#define JB_KERNELS_AVX512_H

#include "jb_kernels.h"

/* Overrides the slots of k (a copy of the AVX2 table) that AVX-512 speeds up; the VNNI and
 * BF16 slots only where the CPU has them. */
void jb_kernels_avx512_fill(struct jb_kernel_ops *k, bool vnni, bool bf16);

/* The table's quantize_q8_x, for gemm_q.c. */
void jb_avx512_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n);

/* Weight rows per packed panel of the direct GEMMs (two zmm registers of f32 lanes). */
#define JB_GEMM_PANEL_ROWS 32

/* Direct GEMMs (the table's gemm_* slots). scratch: see below. */
void jb_gemm_q8_0_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
void jb_gemm_q4_0_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
void jb_gemm_q4_k_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);
void jb_gemm_bf16_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch);

#define JB_GEMM_ALIGN 64

static inline size_t jb_gemm_align(size_t x)
{
    return (x + JB_GEMM_ALIGN - 1) / JB_GEMM_ALIGN * JB_GEMM_ALIGN;
}

/* Activation blocks per row for an int8 direct GEMM: one per 32 inputs, whole q4_K
 * super-blocks (8 blocks) for q4_K. */
static inline int64_t jb_gemm_q_x_blocks(enum jb_dtype t, int64_t cols)
{
    if (t == JB_DTYPE_Q4_K)
        return (cols + JB_QK_K - 1) / JB_QK_K * (JB_QK_K / JB_QK8_0);
    return (cols + JB_QK8_0 - 1) / JB_QK8_0;
}

/* Scratch of the direct GEMMs, in this order:
 *   q8_0, q4_0, q4_K: quantized activations (n, nb) jb_block_q8_x, then per thread one packed
 *         panel: nb * 32 rows * (32 codes + f32 scale + f32 min);
 *   bf16: activations rounded to bf16 (n, cols rounded up to even), then per thread one packed
 *         panel: (cols rounded up to even) * 32 rows * 2 bytes. */
static inline size_t jb_gemm_q_x_bytes(enum jb_dtype t, int64_t n, int64_t cols)
{
    return jb_gemm_align((size_t)n * (size_t)jb_gemm_q_x_blocks(t, cols) * sizeof(jb_block_q8_x));
}

static inline size_t jb_gemm_q_panel_bytes(enum jb_dtype t, int64_t cols)
{
    return jb_gemm_align(
        (size_t)jb_gemm_q_x_blocks(t, cols) * JB_GEMM_PANEL_ROWS * (JB_QK8_0 + 2 * sizeof(float)));
}

static inline size_t jb_gemm_bf16_x_bytes(int64_t n, int64_t cols)
{
    return jb_gemm_align((size_t)n * (size_t)((cols + 1) / 2 * 2) * sizeof(uint16_t));
}

static inline size_t jb_gemm_bf16_panel_bytes(int64_t cols)
{
    return jb_gemm_align((size_t)((cols + 1) / 2 * 2) * JB_GEMM_PANEL_ROWS * sizeof(uint16_t));
}

static inline size_t jb_gemm_direct_scratch_bytes(
    enum jb_dtype t, int64_t n, int64_t cols, int n_threads)
{
    switch (t) {
    case JB_DTYPE_Q8_0:
    case JB_DTYPE_Q4_0:
    case JB_DTYPE_Q4_K:
        return jb_gemm_q_x_bytes(t, n, cols) + (size_t)n_threads * jb_gemm_q_panel_bytes(t, cols);
    case JB_DTYPE_BF16:
        return jb_gemm_bf16_x_bytes(n, cols) + (size_t)n_threads * jb_gemm_bf16_panel_bytes(cols);
    default: return 0;
    }
}

#endif
