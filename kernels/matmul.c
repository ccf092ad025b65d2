/*
 * matmul.c — y = x · Wᵀ for every storage type, on OpenBLAS and OpenMP.
 *
 * Two shapes of work. Decode multiplies a few activation rows by every weight: memory-bound,
 * so weights are streamed once and each weight row is dotted with every activation row while
 * it is in L1 (GEMV path; f32 goes to cblas_sgemv/sgemm). Prefill multiplies many rows:
 * compute-bound, so f32 goes to cblas_sgemm and bf16/q8_0 weights are widened to f32 one
 * L2-sized panel of rows at a time, each thread feeding its own panel to a single-threaded
 * cblas_sgemm (OpenBLAS's OpenMP build runs serially inside a parallel region).
 */
#include "jb_kernels.h"

#include <cblas.h>
#include <omp.h>

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

static size_t quantized_x_bytes(const struct jb_tensor *w, int64_t n)
{
    if (w->dtype != JB_DTYPE_Q8_0)
        return 0;
    const size_t blocks = (size_t)((w->cols + JB_QK8_0 - 1) / JB_QK8_0);
    return align_up((size_t)n * blocks * sizeof(jb_block_q8_x));
}

size_t jb_matmul_scratch_bytes(const struct jb_tensor *w, int64_t n, int n_threads)
{
    size_t panels = 0;
    if (w->dtype != JB_DTYPE_F32)
        panels = (size_t)n_threads * align_up((size_t)panel_rows(w) * w->cols * sizeof(float));
    return quantized_x_bytes(w, n) + panels;
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

/* Widens rows [r0, r0 + m) of w into panel (m, cols) f32. */
static void widen_rows(
    const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t r0, int64_t m, float *panel)
{
    const size_t row_bytes = jb_dtype_row_bytes(w->dtype, w->cols);
    const char *src = (const char *)w->data + (size_t)r0 * row_bytes;
    for (int64_t i = 0; i < m; i++, src += row_bytes) {
        if (w->dtype == JB_DTYPE_Q8_0)
            k->dequant_q8_0((const jb_block_q8_0 *)src, panel + i * w->cols, w->cols);
        else
            k->bf16_to_f32((const uint16_t *)src, panel + i * w->cols, w->cols);
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
    if (path == JB_MATMUL_GEMM) {
        gemm_panels(k, y, x, w, n, (char *)scratch + quantized_x_bytes(w, n));
        return;
    }
    if (w->dtype == JB_DTYPE_Q8_0)
        gemv_q8_0(k, y, x, w, n, scratch);
    else
        gemv_bf16(k, y, x, w, n);
}
