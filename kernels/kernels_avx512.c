/*
 * kernels_avx512.c — AVX-512 (F/BW/VL/DQ) overrides of the AVX2 kernel table, with VNNI
 * (vpdpbusd) for the q8_0, q4_0 and q4_K dot products and AVX512-BF16 (vdpbf16ps, activations
 * rounded to bf16) for the bf16 dot product; the direct prefill GEMMs are in gemm_q.c.
 *
 * Compiled with the AVX-512 flags (CMakeLists.txt), so nothing here may run before kernels.c
 * has checked CPUID and XCR0 (the check lives there, compiled for any x86-64). The table starts
 * as a copy of the AVX2 one; slots not sped up here (the q4 dequantizers, and the VNNI/BF16
 * slots on a CPU without them) stay AVX2's, so whatever that table gains flows in.
 */
#include "jb_kernels.h"

#include <float.h>
#include <immintrin.h>
#include <string.h>
#include <stdbool.h>

#include "kernels_avx512.h"

#ifndef PREFETCH_BYTES
#define PREFETCH_BYTES 4096 /* as kernels_avx2.c: the line this far ahead is requested */
#endif

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __mmask16 tail_mask(int64_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

/* Read-bandwidth ruler, as avx2_sum_f32 with zmm registers. */
static float avx512_sum_f32(const float *a, int64_t n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        _mm_prefetch((const char *)(a + i) + 2 * PREFETCH_BYTES, _MM_HINT_T1);
        _mm_prefetch((const char *)(a + i) + 2 * PREFETCH_BYTES + 64, _MM_HINT_T1);
        _mm_prefetch((const char *)(a + i) + 2 * PREFETCH_BYTES + 128, _MM_HINT_T1);
        _mm_prefetch((const char *)(a + i) + 2 * PREFETCH_BYTES + 192, _MM_HINT_T1);
        acc0 = _mm512_add_ps(acc0, _mm512_loadu_ps(a + i));
        acc1 = _mm512_add_ps(acc1, _mm512_loadu_ps(a + i + 16));
        acc2 = _mm512_add_ps(acc2, _mm512_loadu_ps(a + i + 32));
        acc3 = _mm512_add_ps(acc3, _mm512_loadu_ps(a + i + 48));
    }
    for (; i < n; i += 16)
        acc0 = _mm512_add_ps(acc0, _mm512_maskz_loadu_ps(tail_mask(n - i), a + i));
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

static float avx512_dot_f32(const float *a, const float *b, int64_t n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        acc0 = _mm512_fmadd_ps(
            _mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

/* Sixteen bf16 values widened to f32 (masked lanes read nothing and are 0). */
static inline __m512 load16_bf16(__mmask16 m, const uint16_t *w)
{
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, w));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* Widening + FMA: the bf16 dot of CPUs without AVX512-BF16; exact products, as the reference. */
static float avx512_dot_bf16(const uint16_t *w, const float *x, int64_t n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        _mm_prefetch((const char *)(w + i) + PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)(w + i) + PREFETCH_BYTES + 64, _MM_HINT_T0);
        acc0 = _mm512_fmadd_ps(load16_bf16(0xffff, w + i), _mm512_loadu_ps(x + i), acc0);
        acc1 = _mm512_fmadd_ps(load16_bf16(0xffff, w + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
        acc2 = _mm512_fmadd_ps(load16_bf16(0xffff, w + i + 32), _mm512_loadu_ps(x + i + 32), acc2);
        acc3 = _mm512_fmadd_ps(load16_bf16(0xffff, w + i + 48), _mm512_loadu_ps(x + i + 48), acc3);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        acc0 = _mm512_fmadd_ps(load16_bf16(m, w + i), _mm512_maskz_loadu_ps(m, x + i), acc0);
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

/* 32 activations rounded to bf16 (nearest even), masked lanes 0. */
static inline __m512bh load32_x_bf16(__mmask32 m, const float *x)
{
    const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, x);
    const __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), x + 16);
    return _mm512_cvtne2ps_pbh(hi, lo);
}

/* With AVX512-BF16: vdpbf16ps on the weights and the activations rounded to bf16, as the
 * direct bf16 GEMM does (so decode and prefill see the same products). Rounding x costs up to
 * 2^-8 relative per product (|y - x.w| <= 2^-8 sum |w x| on top of the f32 summation error);
 * products of two bf16 are exact in f32; subnormal inputs are read as zero. */
static float avx512_dot_bf16_dp(const uint16_t *w, const float *x, int64_t n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        _mm_prefetch((const char *)(w + i) + PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)(w + i) + PREFETCH_BYTES + 64, _MM_HINT_T0);
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w + i);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(w + i + 32);
        acc0 = _mm512_dpbf16_ps(acc0, w0, load32_x_bf16(0xffffffffu, x + i));
        acc1 = _mm512_dpbf16_ps(acc1, w1, load32_x_bf16(0xffffffffu, x + i + 32));
    }
    for (; i < n; i += 32) {
        const __mmask32 m = n - i >= 32 ? 0xffffffffu : (__mmask32)((1u << (n - i)) - 1u);
        const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, w + i);
        acc0 = _mm512_dpbf16_ps(acc0, wv, load32_x_bf16(m, x + i));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* One block with VNNI: |x| (unsigned) times w carrying x's sign, four products per int32 lane
 * in one vpdpbusd; no int16 intermediate, so nothing can saturate. */
static inline __m256 block_dot_vnni(const jb_block_q8_0 *w, const jb_block_q8_x *x)
{
    const __m256i qw = _mm256_loadu_si256((const __m256i *)w->qs);
    const __m256i ax = _mm256_loadu_si256((const __m256i *)x->aqs);
    const __m256i sx = _mm256_loadu_si256((const __m256i *)x->qs);
    const __m256i sum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, _mm256_sign_epi8(qw, sx));
    return _mm256_cvtepi32_ps(sum);
}

static inline __m256 block_scale(const jb_block_q8_0 *w, const jb_block_q8_x *x)
{
    return _mm256_mul_ps(_mm256_broadcast_ss(&jb_fp16_table[w->d]), _mm256_broadcast_ss(&x->d));
}

static float avx512_dot_q8_0(const jb_block_q8_0 *w, const jb_block_q8_x *x, int64_t n_blocks)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= n_blocks; b += 2) {
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES, _MM_HINT_T0);
        acc0 = _mm256_fmadd_ps(block_scale(&w[b], &x[b]), block_dot_vnni(&w[b], &x[b]), acc0);
        acc1 = _mm256_fmadd_ps(
            block_scale(&w[b + 1], &x[b + 1]), block_dot_vnni(&w[b + 1], &x[b + 1]), acc1);
    }
    if (b < n_blocks)
        acc0 = _mm256_fmadd_ps(block_scale(&w[b], &x[b]), block_dot_vnni(&w[b], &x[b]), acc0);
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* The 32 codes of a q4_0 block in value order (low nibbles are values 0..15, high 16..31). */
static inline __m256i q4_0_codes(const jb_block_q4_0 *w)
{
    const __m128i b = _mm_loadu_si128((const __m128i *)w->qs);
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* One q4_0 block with VNNI: the unsigned codes (0..15) times x in one vpdpbusd, the -8 offset
 * taken off in the same int32 sum (lane 0 starts at -8 * sum(x)): exact. */
static inline __m256 q4_0_block_dot(const jb_block_q4_0 *w, const jb_block_q8_x *x)
{
    const __m256i start = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-8 * x->sum));
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs);
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(start, q4_0_codes(w), xq));
}

static inline __m256 q4_0_scale(const jb_block_q4_0 *w, const jb_block_q8_x *x)
{
    return _mm256_mul_ps(_mm256_broadcast_ss(&jb_fp16_table[w->d]), _mm256_broadcast_ss(&x->d));
}

static float avx512_dot_q4_0(const jb_block_q4_0 *w, const jb_block_q8_x *x, int64_t n_blocks)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= n_blocks; b += 2) {
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES, _MM_HINT_T0);
        acc0 = _mm256_fmadd_ps(q4_0_scale(&w[b], &x[b]), q4_0_block_dot(&w[b], &x[b]), acc0);
        acc1 = _mm256_fmadd_ps(
            q4_0_scale(&w[b + 1], &x[b + 1]), q4_0_block_dot(&w[b + 1], &x[b + 1]), acc1);
    }
    if (b < n_blocks)
        acc0 = _mm256_fmadd_ps(q4_0_scale(&w[b], &x[b]), q4_0_block_dot(&w[b], &x[b]), acc0);
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* q4_K's 6-bit sub-block scales (sc) and mins (m), all 8 at once (jb_q4_k_scale_min's layout). */
static inline void q4_k_scales(const jb_block_q4_k *w, uint8_t sc[8], uint8_t m[8])
{
    uint32_t u[3], o[4];
    memcpy(u, w->scales, sizeof u);
    o[0] = u[0] & 0x3F3F3F3Fu;
    o[1] = (u[2] & 0x0F0F0F0Fu) | ((u[0] >> 6) & 0x03030303u) << 4;
    o[2] = u[1] & 0x3F3F3F3Fu;
    o[3] = ((u[2] >> 4) & 0x0F0F0F0Fu) | ((u[1] >> 6) & 0x03030303u) << 4;
    memcpy(sc, o, 8);
    memcpy(m, o + 2, 8);
}

static inline __m256 q4_k_sub_dot(__m256i codes, const jb_block_q8_x *x)
{
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->qs);
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), codes, xq));
}

/* As the AVX2 q4_K dot (scales for 8 sub-blocks at once, activation scales and sums gathered),
 * with one vpdpbusd per sub-block instead of maddubs + madd. */
static float avx512_dot_q4_k(const jb_block_q4_k *w, const jb_block_q8_x *x, int64_t n_super)
{
    _Static_assert(sizeof(jb_block_q8_x) % sizeof(float) == 0, "gather stride in floats");
    const int stride = (int)(sizeof(jb_block_q8_x) / sizeof(float));
    const __m256i idx
        = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_super; b++, x += JB_QK_K / 32) {
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES + 128, _MM_HINT_T0);
        uint8_t sm[16];
        q4_k_scales(&w[b], sm, sm + 8);
        const __m128i smv = _mm_loadu_si128((const __m128i *)sm);
        const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(smv));
        const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(smv, 8)));
        const __m256 dx = _mm256_i32gather_ps(&x->d, idx, 4);
        const __m256 xsum = _mm256_cvtepi32_ps(_mm256_i32gather_epi32(&x->sum, idx, 4));
        float f[8];
        _mm256_storeu_ps(
            f, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(jb_fp16_table[w[b].d]), sc), dx));
        mins = _mm256_fmadd_ps(
            _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(jb_fp16_table[w[b].dmin]), m), dx), xsum,
            mins);
        for (int c = 0; c < JB_QK_K / 64; c++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
            const __m256i lo = _mm256_and_si256(v, low4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            acc0 = _mm256_fmadd_ps(
                _mm256_broadcast_ss(&f[2 * c]), q4_k_sub_dot(lo, &x[2 * c]), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_broadcast_ss(&f[2 * c + 1]), q4_k_sub_dot(hi, &x[2 * c + 1]), acc1);
        }
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) - hsum256(mins);
}

/* Quantizes 32 values: returns the f32 scale amax/127 and the int8 values (round to nearest
 * even, the default MXCSR mode, as the reference's nearbyintf) in *q8. */
static inline float quantize32(const float *xb, __m256i *q8, int32_t *sum)
{
    const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f >= FLT_MIN ? amax / 127.0f : 0.0f;
    const __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
    const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
    const __m128i q0 = _mm512_cvtsepi32_epi8(i0), q1 = _mm512_cvtsepi32_epi8(i1);
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
    *q8 = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
    return d;
}

static void avx512_quantize_q8_0(const float *x, jb_block_q8_0 *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        __m256i q8;
        int32_t sum;
        out[b].d = _cvtss_sh(quantize32(x + b * JB_QK8_0, &q8, &sum), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i *)out[b].qs, q8);
    }
    if (b * JB_QK8_0 < n)
        jb_ref_quantize_q8_0(x + b * JB_QK8_0, out + b, n - b * JB_QK8_0);
}

void jb_avx512_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        __m256i q8;
        out[b].d = quantize32(x + b * JB_QK8_0, &q8, &out[b].sum);
        _mm256_storeu_si256((__m256i *)out[b].qs, q8);
        _mm256_storeu_si256((__m256i *)out[b].aqs, _mm256_abs_epi8(q8));
        /* sum of qs, for the q4_K dot's min term (jb_block_q8_x.sum) */
        out[b].sum = _mm512_reduce_add_epi32(
            _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q8)),
                _mm512_cvtepi8_epi32(_mm256_extracti128_si256(q8, 1))));
    }
    if (b * JB_QK8_0 < n)
        jb_ref_quantize_q8_x(x + b * JB_QK8_0, out + b, n - b * JB_QK8_0);
}

static void avx512_dequant_q8_0(const jb_block_q8_0 *w, float *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        const __m512 d = _mm512_set1_ps(jb_fp16_table[w[b].d]);
        const __m512i q0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)w[b].qs));
        const __m512i q1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(w[b].qs + 16)));
        _mm512_storeu_ps(out + b * JB_QK8_0, _mm512_mul_ps(d, _mm512_cvtepi32_ps(q0)));
        _mm512_storeu_ps(out + b * JB_QK8_0 + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(q1)));
    }
    if (b * JB_QK8_0 < n)
        jb_ref_dequant_q8_0(w + b, out + b * JB_QK8_0, n - b * JB_QK8_0);
}

static void avx512_bf16_to_f32(const uint16_t *w, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(out + i, m, load16_bf16(m, w + i));
    }
}

/* ---- the table --------------------------------------------------------------------------- */

void jb_kernels_avx512_fill(struct jb_kernel_ops *k, bool vnni, bool bf16)
{
    k->name = "avx512";
    k->features = vnni && bf16 ? "vnni,bf16" : vnni ? "vnni" : bf16 ? "bf16" : "";
    k->sum_f32 = avx512_sum_f32;
    k->dot_f32 = avx512_dot_f32;
    k->dot_bf16 = avx512_dot_bf16;
    k->quantize_q8_0 = avx512_quantize_q8_0;
    k->quantize_q8_x = jb_avx512_quantize_q8_x;
    k->dequant_q8_0 = avx512_dequant_q8_0;
    k->bf16_to_f32 = avx512_bf16_to_f32;
    if (vnni) {
        k->dot_q8_0 = avx512_dot_q8_0;
        k->gemm_q8_0 = jb_gemm_q8_0_avx512;
        k->dot_q4_0 = avx512_dot_q4_0;
        k->dot_q4_k = avx512_dot_q4_k;
        k->gemm_q4_0 = jb_gemm_q4_0_avx512;
        k->gemm_q4_k = jb_gemm_q4_k_avx512;
    }
    if (bf16) {
        k->dot_bf16 = avx512_dot_bf16_dp;
        k->gemm_bf16 = jb_gemm_bf16_avx512;
    }
}
