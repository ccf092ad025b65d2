/*
 * matmul.c — y = x · Wᵀ for every storage type, on OpenBLAS and OpenMP.
 *
 * Two shapes of work. Decode multiplies a few activation rows by every weight: memory-bound,
 * so weights are streamed once and each weight row is dotted with every activation row while
 * it is in L1 (GEMV path; f32 goes to cblas_sgemv/sgemm). Prefill multiplies many rows:
 * compute-bound, so f32 goes to cblas_sgemm and bf16/q8_0/q4_0/q4_K weights are widened to f32
 * one L2-sized panel of rows at a time, each thread feeding its own panel to a single-threaded
 * cblas_sgemm (OpenBLAS's OpenMP build runs serially inside a parallel region) — unless the
 * table has a direct GEMM for the type (gemm_q.c: int8 VNNI, bf16 dot products), which needs
 * no widening and is taken wherever it exists (jb_matmul_gemm_direct).
 */
#include "jb_kernels.h"
#include "kernels_avx512.h" /* the direct GEMMs' scratch sizes (inline, any CPU) */

#include <cblas.h>
#include <omp.h>
#include <string.h>

#ifndef PANEL_MAX_ROWS
#define PANEL_MAX_ROWS 256
#endif
#ifndef PANEL_BYTES
#define PANEL_BYTES (2u << 20) /* this machine's L2: the widened panel stays close */
#endif
#define SCRATCH_ALIGN 64
/* Rows a GEMV thread takes at a time: long enough to stream (tens of KiB), short enough that a
 * thread slowed by the host (steal time on a VM) does not hold the others at the barrier. */
#ifndef GEMV_CHUNK
#define GEMV_CHUNK 64
#endif

static size_t align_up(size_t x)
{
    return (x + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
}

static int64_t panel_rows(const struct jb_tensor *w)
{
    int64_t r = (int64_t)(PANEL_BYTES / ((size_t)w->cols * sizeof(float)));
    r = r / 16 * 16;
    if (r < 16)
        r = 16;
    if (r > PANEL_MAX_ROWS)
        r = PANEL_MAX_ROWS;
    return r < w->rows ? r : w->rows;
}

/* Activation blocks a row of x takes when quantized for w's dot products: one per 32 values,
 * and for q4_K whole super-blocks of 8 (the blocks past the row's end are zeros). 0 when w is
 * not a quantized type. */
static int64_t x_blocks(const struct jb_tensor *w)
{
    switch (w->dtype) {
    case JB_DTYPE_Q8_0:
    case JB_DTYPE_Q4_0: return (w->cols + JB_QK8_0 - 1) / JB_QK8_0;
    case JB_DTYPE_Q4_K: return (w->cols + JB_QK_K - 1) / JB_QK_K * (JB_QK_K / JB_QK8_0);
    default: return 0;
    }
}

static size_t quantized_x_bytes(const struct jb_tensor *w, int64_t n)
{
    return align_up((size_t)n * (size_t)x_blocks(w) * sizeof(jb_block_q8_x));
}

size_t jb_matmul_scratch_bytes(const struct jb_tensor *w, int64_t n, int n_threads)
{
    size_t panels = 0;
    if (w->dtype != JB_DTYPE_F32)
        panels = (size_t)n_threads * align_up((size_t)panel_rows(w) * w->cols * sizeof(float));
    const size_t widen = quantized_x_bytes(w, n) + panels;
    const size_t direct = jb_gemm_direct_scratch_bytes(w->dtype, n, w->cols, n_threads);
    return widen > direct ? widen : direct;
}

static void gemv_f32(float *y, const float *x, const struct jb_tensor *w, int64_t n)
{
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)w->rows, (int)w->cols, 1.0f, w->data,
            (int)w->cols, x, 1, 0.0f, y, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)w->rows, (int)w->cols,
            1.0f, x, (int)w->cols, w->data, (int)w->cols, 0.0f, y, (int)w->rows);
}

static void gemv_bf16(
    const struct jb_kernel_ops *k, float *y, const float *x, const struct jb_tensor *w, int64_t n)
{
    const uint16_t *wd = w->data;
    const int64_t rows = w->rows, cols = w->cols;
#pragma omp parallel for schedule(dynamic, GEMV_CHUNK)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++)
            y[j * rows + r] = k->dot_bf16(wd + r * cols, x + j * cols, cols);
}

static void gemv_q8_0(const struct jb_kernel_ops *k, float *y, const float *x,
    const struct jb_tensor *w, int64_t n, void *scratch)
{
    const int64_t rows = w->rows, cols = w->cols, nb = (cols + JB_QK8_0 - 1) / JB_QK8_0;
    const jb_block_q8_0 *wd = w->data;
    jb_block_q8_x *qx = scratch;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int64_t j = 0; j < n; j++)
            k->quantize_q8_x(x + j * cols, qx + j * nb, cols);
#pragma omp for schedule(dynamic, GEMV_CHUNK)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < n; j++)
                y[j * rows + r] = k->dot_q8_0(wd + r * nb, qx + j * nb, nb);
    }
}

/* x row j quantized into qx + j * nb (nb = x_blocks(w)), blocks past the row's end zeroed. */
static void quantize_x_row(const struct jb_kernel_ops *k, const float *x, int64_t cols,
    jb_block_q8_x *qx, int64_t nb)
{
    const int64_t used = (cols + JB_QK8_0 - 1) / JB_QK8_0;
    k->quantize_q8_x(x, qx, cols);
    memset(qx + used, 0, (size_t)(nb - used) * sizeof *qx);
}

/* q4_0 and q4_K rows against quantized activations, as gemv_q8_0 does. */
static void gemv_q4(const struct jb_kernel_ops *k, float *y, const float *x,
    const struct jb_tensor *w, int64_t n, void *scratch)
{
    const int64_t rows = w->rows, cols = w->cols, nb = x_blocks(w);
    const size_t row_bytes = jb_dtype_row_bytes(w->dtype, cols);
    const bool q4_k = w->dtype == JB_DTYPE_Q4_K;
    const char *wd = w->data;
    jb_block_q8_x *qx = scratch;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int64_t j = 0; j < n; j++)
            quantize_x_row(k, x + j * cols, cols, qx + j * nb, nb);
#pragma omp for schedule(dynamic, GEMV_CHUNK)
        for (int64_t r = 0; r < rows; r++) {
            const void *wr = wd + (size_t)r * row_bytes;
            for (int64_t j = 0; j < n; j++)
                y[j * rows + r] = q4_k ? k->dot_q4_k(wr, qx + j * nb, nb / (JB_QK_K / JB_QK8_0))
                                       : k->dot_q4_0(wr, qx + j * nb, nb);
        }
    }
}

/* Widens rows [r0, r0 + m) of w into panel (m, cols) f32. */
static void widen_rows(
    const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t r0, int64_t m, float *panel)
{
    const size_t row_bytes = jb_dtype_row_bytes(w->dtype, w->cols);
    const char *src = (const char *)w->data + (size_t)r0 * row_bytes;
    for (int64_t i = 0; i < m; i++, src += row_bytes) {
        float *out = panel + i * w->cols;
        switch (w->dtype) {
        case JB_DTYPE_Q8_0: k->dequant_q8_0((const jb_block_q8_0 *)src, out, w->cols); break;
        case JB_DTYPE_Q4_0: k->dequant_q4_0((const jb_block_q4_0 *)src, out, w->cols); break;
        case JB_DTYPE_Q4_K: k->dequant_q4_k((const jb_block_q4_k *)src, out, w->cols); break;
        default: k->bf16_to_f32((const uint16_t *)src, out, w->cols); break;
        }
    }
}

static void gemm_panels(const struct jb_kernel_ops *k, float *y, const float *x,
    const struct jb_tensor *w, int64_t n, void *scratch)
{
    const int64_t pr = panel_rows(w), n_panels = (w->rows + pr - 1) / pr;
    const size_t panel_stride = align_up((size_t)pr * w->cols * sizeof(float));
#pragma omp parallel
    {
        float *panel = (float *)((char *)scratch + (size_t)omp_get_thread_num() * panel_stride);
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < n_panels; p++) {
            const int64_t r0 = p * pr, m = w->rows - r0 < pr ? w->rows - r0 : pr;
            widen_rows(k, w, r0, m, panel);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)w->cols, 1.0f,
                x, (int)w->cols, panel, (int)w->cols, 0.0f, y + r0, (int)w->rows);
        }
    }
}

/* Table k's direct GEMM for w's type, or NULL. */
static void (*direct_gemm(const struct jb_kernel_ops *k, enum jb_dtype t))(
    float *, const float *, const struct jb_tensor *, int64_t, void *)
{
    switch (t) {
    case JB_DTYPE_Q8_0: return k->gemm_q8_0;
    case JB_DTYPE_Q4_0: return k->gemm_q4_0;
    case JB_DTYPE_Q4_K: return k->gemm_q4_k;
    case JB_DTYPE_BF16: return k->gemm_bf16;
    default: return NULL;
    }
}

/* The one place that picks the prefill path: the direct GEMM wherever the table has one for
 * w's type (measured faster on every TinyLlama prefill shape: docs/engine.md, "Kernels"). */
bool jb_matmul_gemm_direct(const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t n,
    enum jb_matmul_path path)
{
    if (path == JB_MATMUL_AUTO)
        path = n < JB_MATMUL_GEMM_MIN_ROWS ? JB_MATMUL_GEMV : JB_MATMUL_GEMM;
    if (path == JB_MATMUL_GEMV || path == JB_MATMUL_GEMM_WIDEN)
        return false;
    return direct_gemm(k, w->dtype) != NULL;
}

void jb_matmul(const struct jb_kernel_ops *k, float *y, const float *x, const struct jb_tensor *w,
    int64_t n, void *scratch, size_t scratch_bytes, enum jb_matmul_path path)
{
    JB_ASSERT(scratch_bytes >= jb_matmul_scratch_bytes(w, n, omp_get_max_threads()));
    if (n <= 0 || w->rows <= 0)
        return;
    if (path == JB_MATMUL_AUTO)
        path = n < JB_MATMUL_GEMM_MIN_ROWS ? JB_MATMUL_GEMV : JB_MATMUL_GEMM;

    if (w->dtype == JB_DTYPE_F32) {
        if (path == JB_MATMUL_GEMV)
            gemv_f32(y, x, w, n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)w->rows, (int)w->cols,
                1.0f, x, (int)w->cols, w->data, (int)w->cols, 0.0f, y, (int)w->rows);
        return;
    }
    if (jb_matmul_gemm_direct(k, w, n, path)) {
        direct_gemm(k, w->dtype)(y, x, w, n, scratch);
        return;
    }
    if (path != JB_MATMUL_GEMV) {
        gemm_panels(k, y, x, w, n, (char *)scratch + quantized_x_bytes(w, n));
        return;
    }
    if (w->dtype == JB_DTYPE_Q8_0)
        gemv_q8_0(k, y, x, w, n, scratch);
    else if (w->dtype == JB_DTYPE_Q4_0 || w->dtype == JB_DTYPE_Q4_K)
        gemv_q4(k, y, x, w, n, scratch);
    else
        gemv_bf16(k, y, x, w, n);
}
