/*
 * gemm_q.c — direct prefill GEMMs for q8_0, q4_0, q4_K (AVX512-VNNI vpdpbusd) and bf16
 * (AVX512-BF16 vdpbf16ps) weights: no widening of the weights to f32.
 *
 * Each thread packs a panel of 32 weight rows so that one zmm register holds the same 4 (int8)
 * or 2 (bf16) input positions of 16 rows, then runs register tiles of activation rows x 32
 * weight rows over the whole input: each activation broadcast feeds two 16-lane dot products.
 * The int8 kinds quantize the activations as the GEMV path does (exactly the same integers)
 * and scale each block's int32 sums; bf16 rounds the activations to bf16 (see
 * jb_gemm_bf16_avx512). Compiled with the AVX-512 flags; reached only through the AVX-512
 * table.
 */
#include "kernels_avx512.h"

#include <immintrin.h>
#include <omp.h>
#include <string.h>

#define PR JB_GEMM_PANEL_ROWS
#define Q8_TILE 6   /* activation rows per int8 tile: 12 int32 + 12 f32 accumulators */
#define BF16_TILE 8 /* activation rows per bf16 tile: 16 f32 accumulators */
#define ALWAYS_INLINE inline __attribute__((always_inline))

static inline __mmask16 lanes(int64_t left)
{
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
}

/* ---- int8 weights: q8_0, q4_0, q4_K ------------------------------------------------------ */

/* A packed panel of 32 weight rows, per activation block b (32 inputs): 8 steps of 4 inputs,
 * each 32 rows x 4 unsigned codes (vpdpbusd's unsigned operand), then each row's scale and
 * (q4_K) min in f32. A weight is scale * (code - offset) - min, offset 128 for q8_0 (code =
 * w + 128), 8 for q4_0, 0 for q4_K; rows past the matrix have scale and min 0. */
struct qpanel {
    uint8_t *codes; /* (nb, 8, 32, 4) */
    float *scale;   /* (nb, 32) */
    float *min;     /* (nb, 32) */
};

static struct qpanel qpanel_at(void *base, int64_t nb)
{
    struct qpanel p = { base, NULL, NULL };
    p.scale = (float *)(p.codes + nb * PR * JB_QK8_0);
    p.min = p.scale + nb * PR;
    return p;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Block b of one weight row: 8 words of 4 codes, its scale and min. */
static void block_codes(
    enum jb_dtype t, const void *row, int64_t b, uint32_t v[8], float *scale, float *min)
{
    *min = 0.0f;
    if (t == JB_DTYPE_Q8_0) {
        const jb_block_q8_0 *blk = (const jb_block_q8_0 *)row + b;
        for (int s = 0; s < 8; s++)
            v[s] = load32((const uint8_t *)blk->qs + 4 * s) ^ 0x80808080u;
        *scale = jb_fp16_table[blk->d];
    } else if (t == JB_DTYPE_Q4_0) { /* inputs 0-15 in the low nibbles, 16-31 in the high */
        const jb_block_q4_0 *blk = (const jb_block_q4_0 *)row + b;
        for (int s = 0; s < 8; s++)
            v[s] = (load32(blk->qs + 4 * (s % 4)) >> (s < 4 ? 0 : 4)) & 0x0f0f0f0fu;
        *scale = jb_fp16_table[blk->d];
    } else { /* q4_K: sub-block b % 8 of super-block b / 8, nibbles as jb_block_q4_k says */
        const jb_block_q4_k *blk = (const jb_block_q4_k *)row + b / 8;
        const int sub = (int)(b % 8);
        uint8_t sc, m;
        for (int s = 0; s < 8; s++)
            v[s] = (load32(blk->qs + 32 * (sub / 2) + 4 * s) >> (sub % 2 ? 4 : 0)) & 0x0f0f0f0fu;
        jb_q4_k_scale_min(blk->scales, sub, &sc, &m);
        *scale = jb_fp16_table[blk->d] * (float)sc;
        *min = jb_fp16_table[blk->dmin] * (float)m;
    }
}

/* Packs rows [0, m) of w (rows row_bytes apart, nb activation blocks long). */
static void pack_q(
    enum jb_dtype t, const char *w, size_t row_bytes, int64_t nb, int64_t m, const struct qpanel *p)
{
    for (int64_t r = 0; r < PR; r++)
        for (int64_t b = 0; b < nb; b++) {
            uint32_t v[8] = { 0 };
            float scale = 0.0f, min = 0.0f;
            if (r < m)
                block_codes(t, w + (size_t)r * row_bytes, b, v, &scale, &min);
            uint8_t *dst = p->codes + b * (PR * JB_QK8_0) + r * 4;
            for (int s = 0; s < 8; s++)
                memcpy(dst + s * PR * 4, &v[s], 4);
            p->scale[b * PR + r] = scale;
            p->min[b * PR + r] = min;
        }
}

/* y (J, 32 columns masked by m0, m1) for J activation rows. Block sums are exact int32: the
 * accumulator starts at -offset * sum(x), which cancels the codes' offset; the q4_K min term
 * is subtracted in f32, as the reference does. */
static ALWAYS_INLINE void tile_q(const int J, const int offset, const bool has_min, float *y,
    int64_t ldy, const jb_block_q8_x *x, int64_t nb, const struct qpanel *p, __mmask16 m0,
    __mmask16 m1)
{
    __m512 acc[Q8_TILE][2];
    for (int j = 0; j < J; j++)
        acc[j][0] = acc[j][1] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i s[Q8_TILE][2];
        for (int j = 0; j < J; j++)
            s[j][0] = s[j][1] = _mm512_set1_epi32(-offset * x[j * nb + b].sum);
        const uint8_t *c = p->codes + b * (PR * JB_QK8_0);
        for (int st = 0; st < JB_QK8_0 / 4; st++) {
            const __m512i w0 = _mm512_loadu_si512(c + st * 128);
            const __m512i w1 = _mm512_loadu_si512(c + st * 128 + 64);
            for (int j = 0; j < J; j++) {
                int32_t a;
                memcpy(&a, x[j * nb + b].qs + 4 * st, 4);
                const __m512i av = _mm512_set1_epi32(a);
                s[j][0] = _mm512_dpbusd_epi32(s[j][0], w0, av);
                s[j][1] = _mm512_dpbusd_epi32(s[j][1], w1, av);
            }
        }
        const __m512 d0 = _mm512_loadu_ps(p->scale + b * PR);
        const __m512 d1 = _mm512_loadu_ps(p->scale + b * PR + 16);
        for (int j = 0; j < J; j++) {
            const __m512 dx = _mm512_set1_ps(x[j * nb + b].d);
            acc[j][0]
                = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[j][0]), _mm512_mul_ps(d0, dx), acc[j][0]);
            acc[j][1]
                = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[j][1]), _mm512_mul_ps(d1, dx), acc[j][1]);
        }
        if (!has_min)
            continue;
        const __m512 n0 = _mm512_loadu_ps(p->min + b * PR);
        const __m512 n1 = _mm512_loadu_ps(p->min + b * PR + 16);
        for (int j = 0; j < J; j++) {
            const __m512 dx = _mm512_set1_ps(x[j * nb + b].d);
            const __m512 sx = _mm512_set1_ps((float)x[j * nb + b].sum);
            acc[j][0] = _mm512_fnmadd_ps(sx, _mm512_mul_ps(n0, dx), acc[j][0]);
            acc[j][1] = _mm512_fnmadd_ps(sx, _mm512_mul_ps(n1, dx), acc[j][1]);
        }
    }
    for (int j = 0; j < J; j++) {
        _mm512_mask_storeu_ps(y + j * ldy, m0, acc[j][0]);
        _mm512_mask_storeu_ps(y + j * ldy + 16, m1, acc[j][1]);
    }
}

#define TILE_Q_CASE(J)                                                                             \
    case J: tile_q(J, offset, has_min, y + j * ldy, ldy, x + j * nb, nb, p, m0, m1); break

/* One packed panel against every activation row, Q8_TILE rows at a time. */
static ALWAYS_INLINE void panel_q(const int offset, const bool has_min, float *y, int64_t ldy,
    const jb_block_q8_x *x, int64_t n, int64_t nb, const struct qpanel *p, int64_t m)
{
    const __mmask16 m0 = lanes(m), m1 = lanes(m - 16);
    int64_t j = 0;
    for (; j + Q8_TILE <= n; j += Q8_TILE)
        tile_q(Q8_TILE, offset, has_min, y + j * ldy, ldy, x + j * nb, nb, p, m0, m1);
    switch (n - j) {
        TILE_Q_CASE(5);
        TILE_Q_CASE(4);
        TILE_Q_CASE(3);
        TILE_Q_CASE(2);
        TILE_Q_CASE(1);
    default: break;
    }
}

static void panel_q8_0(float *y, int64_t ldy, const jb_block_q8_x *x, int64_t n, int64_t nb,
    const struct qpanel *p, int64_t m)
{
    panel_q(128, false, y, ldy, x, n, nb, p, m);
}

static void panel_q4_0(float *y, int64_t ldy, const jb_block_q8_x *x, int64_t n, int64_t nb,
    const struct qpanel *p, int64_t m)
{
    panel_q(8, false, y, ldy, x, n, nb, p, m);
}

static void panel_q4_k(float *y, int64_t ldy, const jb_block_q8_x *x, int64_t n, int64_t nb,
    const struct qpanel *p, int64_t m)
{
    panel_q(0, true, y, ldy, x, n, nb, p, m);
}

/* The activations are quantized exactly as the GEMV path quantizes them (blocks past a q4_K
 * row's end zeroed), so the result is the same integer dot products with the same per-block
 * scaling: within the GEMV path's error, not f32 GEMM's. */
static void gemm_q(float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch)
{
    const int64_t rows = w->rows, cols = w->cols, nb = jb_gemm_q_x_blocks(w->dtype, cols);
    const int64_t used = (cols + JB_QK8_0 - 1) / JB_QK8_0;
    const size_t row_bytes = jb_dtype_row_bytes(w->dtype, cols);
    jb_block_q8_x *xq = scratch;
    char *panels = (char *)scratch + jb_gemm_q_x_bytes(w->dtype, n, cols);
    const size_t panel_bytes = jb_gemm_q_panel_bytes(w->dtype, cols);
    const int64_t n_panels = (rows + PR - 1) / PR;
#pragma omp parallel
    {
        const struct qpanel p = qpanel_at(panels + (size_t)omp_get_thread_num() * panel_bytes, nb);
#pragma omp for schedule(static)
        for (int64_t j = 0; j < n; j++) {
            jb_avx512_quantize_q8_x(x + j * cols, xq + j * nb, cols);
            memset(xq + j * nb + used, 0, (size_t)(nb - used) * sizeof *xq);
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n_panels; i++) {
            const int64_t r0 = i * PR, m = rows - r0 < PR ? rows - r0 : PR;
            pack_q(w->dtype, (const char *)w->data + (size_t)r0 * row_bytes, row_bytes, nb, m, &p);
            if (w->dtype == JB_DTYPE_Q8_0)
                panel_q8_0(y + r0, rows, xq, n, nb, &p, m);
            else if (w->dtype == JB_DTYPE_Q4_0)
                panel_q4_0(y + r0, rows, xq, n, nb, &p, m);
            else
                panel_q4_k(y + r0, rows, xq, n, nb, &p, m);
        }
    }
}

void jb_gemm_q8_0_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch)
{
    gemm_q(y, x, w, n, scratch);
}

void jb_gemm_q4_0_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch)
{
    gemm_q(y, x, w, n, scratch);
}

void jb_gemm_q4_k_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch)
{
    gemm_q(y, x, w, n, scratch);
}

/* ---- bf16 -------------------------------------------------------------------------------- */

/* Packs weight rows [0, m) of w (cols each) into a panel: per pair of inputs, 32 rows x 2 bf16
 * (vdpbf16ps's pairs); the odd input past cols and rows past m are zeros. */
static void pack_bf16(const uint16_t *w, int64_t cols, int64_t m, uint32_t *pw)
{
    const int64_t np = (cols + 1) / 2;
    for (int64_t r = 0; r < PR; r++) {
        if (r >= m) {
            for (int64_t p = 0; p < np; p++)
                pw[p * PR + r] = 0;
            continue;
        }
        const uint16_t *row = w + r * cols;
        for (int64_t p = 0; p < np; p++)
            pw[p * PR + r] = row[2 * p] | (2 * p + 1 < cols ? (uint32_t)row[2 * p + 1] << 16 : 0u);
    }
}

/* Rounds an activation row to bf16 (nearest even), zero-padded to an even length. */
static void round_row_bf16(const float *x, int64_t cols, uint16_t *out)
{
    int64_t i = 0;
    for (; i < cols; i += 16) {
        const __mmask16 m = lanes(cols - i);
        const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        _mm256_mask_storeu_epi16(out + i, m, (__m256i)h);
    }
    if (cols & 1)
        out[cols] = 0;
}

static ALWAYS_INLINE void tile_bf16(const int J, float *y, int64_t ldy, const uint16_t *x,
    int64_t ldx, int64_t np, const uint32_t *pw, __mmask16 m0, __mmask16 m1)
{
    __m512 acc[BF16_TILE][2];
    for (int j = 0; j < J; j++)
        acc[j][0] = acc[j][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < np; p++) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(pw + p * PR);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(pw + p * PR + 16);
        for (int j = 0; j < J; j++) {
            int32_t a;
            memcpy(&a, x + j * ldx + 2 * p, 4);
            const __m512bh av = (__m512bh)_mm512_set1_epi32(a);
            acc[j][0] = _mm512_dpbf16_ps(acc[j][0], av, w0);
            acc[j][1] = _mm512_dpbf16_ps(acc[j][1], av, w1);
        }
    }
    for (int j = 0; j < J; j++) {
        _mm512_mask_storeu_ps(y + j * ldy, m0, acc[j][0]);
        _mm512_mask_storeu_ps(y + j * ldy + 16, m1, acc[j][1]);
    }
}

#define TILE_BF16_CASE(J)                                                                          \
    case J: tile_bf16(J, y + j * ldy, ldy, x + j * ldx, ldx, np, pw, m0, m1); break

static void panel_bf16(float *y, int64_t ldy, const uint16_t *x, int64_t ldx, int64_t n, int64_t np,
    const uint32_t *pw, int64_t m)
{
    const __mmask16 m0 = lanes(m), m1 = lanes(m - 16);
    int64_t j = 0;
    for (; j + BF16_TILE <= n; j += BF16_TILE)
        tile_bf16(BF16_TILE, y + j * ldy, ldy, x + j * ldx, ldx, np, pw, m0, m1);
    switch (n - j) {
        TILE_BF16_CASE(7);
        TILE_BF16_CASE(6);
        TILE_BF16_CASE(5);
        TILE_BF16_CASE(4);
        TILE_BF16_CASE(3);
        TILE_BF16_CASE(2);
        TILE_BF16_CASE(1);
    default: break;
    }
}

/* Activations are rounded to bf16 (relative error at most 2^-8 each), products are exact in
 * f32 and summed in f32 (one rounding per addition): |y - x·w| <= (2^-8 + cols * 2^-24 * (1 +
 * 2^-8)) * sum |x_i w_i|, plus flushed subnormals (vdpbf16ps treats them as zero). */
void jb_gemm_bf16_avx512(
    float *y, const float *x, const struct jb_tensor *w, int64_t n, void *scratch)
{
    const int64_t rows = w->rows, cols = w->cols, np = (cols + 1) / 2, ldx = 2 * np;
    const uint16_t *wd = w->data;
    uint16_t *xb = scratch;
    char *panels = (char *)scratch + jb_gemm_bf16_x_bytes(n, cols);
    const size_t panel_bytes = jb_gemm_bf16_panel_bytes(cols);
    const int64_t n_panels = (rows + PR - 1) / PR;
#pragma omp parallel
    {
        uint32_t *pw = (uint32_t *)(panels + (size_t)omp_get_thread_num() * panel_bytes);
#pragma omp for schedule(static)
        for (int64_t j = 0; j < n; j++)
            round_row_bf16(x + j * cols, cols, xb + j * ldx);
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < n_panels; p++) {
            const int64_t r0 = p * PR, m = rows - r0 < PR ? rows - r0 : PR;
            pack_bf16(wd + r0 * cols, cols, m, pw);
            panel_bf16(y + r0, rows, xb, ldx, n, np, pw, m);
        }
    }
}
