/*
 * kernels_avx2.c — AVX2 + FMA + F16C overrides of the reference kernel table.
 *
 * Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); only reached after a runtime check of
 * the CPU (jb_kernels_avx2 returns NULL otherwise). The q8_0 dot product multiplies int8 by
 * int8 with maddubs (unsigned by signed): |x| times w carrying x's sign.
 */
#include "jb_kernels.h"

#include <cpuid.h>
#include <float.h>
#include <immintrin.h>
#include <stdbool.h>

/* Weights stream from DRAM once per token; the hardware prefetcher alone leaves a third of
 * this VM's bandwidth unused, so each loop asks for the line this far ahead. Past the end of a
 * matrix the hint is harmless (prefetches never fault). */
#ifndef PREFETCH_BYTES
#define PREFETCH_BYTES 4096
#endif

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float fp16(uint16_t h)
{
    return jb_fp16_table[h];
}

static float avx2_dot_f32(const float *a, const float *b, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* Read-bandwidth ruler: four independent sums, prefetching into L2 further ahead (the best
 * pure read rate found on the development VM; see docs/engine.md). */
static float avx2_sum_f32(const float *a, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch((const char *)(a + i) + 2 * PREFETCH_BYTES, _MM_HINT_T1);
        _mm_prefetch((const char *)(a + i) + 2 * PREFETCH_BYTES + 64, _MM_HINT_T1);
        acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(a + i));
        acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(a + i + 8));
        acc2 = _mm256_add_ps(acc2, _mm256_loadu_ps(a + i + 16));
        acc3 = _mm256_add_ps(acc3, _mm256_loadu_ps(a + i + 24));
    }
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; i++)
        sum += a[i];
    return sum;
}

/* Eight bf16 values widened to f32: the bf16 bits become the high half of each f32. */
static inline __m256 load8_bf16(const uint16_t *w)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)w));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static float avx2_dot_bf16(const uint16_t *w, const float *x, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch((const char *)(w + i) + PREFETCH_BYTES, _MM_HINT_T0);
        acc0 = _mm256_fmadd_ps(load8_bf16(w + i), _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(load8_bf16(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(load8_bf16(w + i + 16), _mm256_loadu_ps(x + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(load8_bf16(w + i + 24), _mm256_loadu_ps(x + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(load8_bf16(w + i), _mm256_loadu_ps(x + i), acc0);
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; i++)
        sum += jb_bf16_to_f32(w[i]) * x[i];
    return sum;
}

/* One block: sum of w[i] * x[i] as 8 int32 lanes converted to f32. The activation supplies
 * |x| as the unsigned operand of maddubs and the weight takes x's sign; pair sums stay within
 * 2 * 127 * 127, so nothing saturates. */
static inline __m256 block_dot(const jb_block_q8_0 *w, const jb_block_q8_x *x)
{
    const __m256i qw = _mm256_loadu_si256((const __m256i *)w->qs);
    const __m256i ax = _mm256_loadu_si256((const __m256i *)x->aqs);
    const __m256i sx = _mm256_loadu_si256((const __m256i *)x->qs);
    const __m256i pairs = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(qw, sx));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/* Scale of a block pair: both conversions are loads (table and broadcast), no shuffles. */
static inline __m256 block_scale(const jb_block_q8_0 *w, const jb_block_q8_x *x)
{
    return _mm256_mul_ps(_mm256_broadcast_ss(&jb_fp16_table[w->d]), _mm256_broadcast_ss(&x->d));
}

static float avx2_dot_q8_0(const jb_block_q8_0 *w, const jb_block_q8_x *x, int64_t n_blocks)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= n_blocks; b += 2) {
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES, _MM_HINT_T0);
        acc0 = _mm256_fmadd_ps(block_scale(&w[b], &x[b]), block_dot(&w[b], &x[b]), acc0);
        acc1 = _mm256_fmadd_ps(
            block_scale(&w[b + 1], &x[b + 1]), block_dot(&w[b + 1], &x[b + 1]), acc1);
    }
    if (b < n_blocks)
        acc0 = _mm256_fmadd_ps(block_scale(&w[b], &x[b]), block_dot(&w[b], &x[b]), acc0);
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* Quantizes 32 values: returns the f32 scale amax/127 and the int8 values (round to nearest
 * even, as the reference does) in *q8. */
static inline float quantize32(const float *xb, __m256i *q8)
{
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(xb + 8 * j);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[j]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float d = _mm_cvtss_f32(m) / 127.0f >= FLT_MIN ? _mm_cvtss_f32(m) / 127.0f : 0.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m256i q[4];
    for (int j = 0; j < 4; j++) {
        __m256 r = _mm256_round_ps(
            _mm256_mul_ps(v[j], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q[j] = _mm256_cvtps_epi32(r);
    }
    /* int32 -> int16 -> int8 packs work within 128-bit lanes; undo the interleave. */
    __m256i packed
        = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    *q8 = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    return d;
}

static void avx2_quantize_q8_0(const float *x, jb_block_q8_0 *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        __m256i q8;
        out[b].d = _cvtss_sh(quantize32(x + b * JB_QK8_0, &q8), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i *)out[b].qs, q8);
    }
    if (b * JB_QK8_0 < n)
        jb_ref_quantize_q8_0(x + b * JB_QK8_0, out + b, n - b * JB_QK8_0);
}

static void avx2_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        __m256i q8;
        out[b].d = quantize32(x + b * JB_QK8_0, &q8);
        _mm256_storeu_si256((__m256i *)out[b].qs, q8);
        _mm256_storeu_si256((__m256i *)out[b].aqs, _mm256_abs_epi8(q8));
    }
    if (b * JB_QK8_0 < n)
        jb_ref_quantize_q8_x(x + b * JB_QK8_0, out + b, n - b * JB_QK8_0);
}

static void avx2_dequant_q8_0(const jb_block_q8_0 *w, float *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        const __m256 d = _mm256_set1_ps(fp16(w[b].d));
        float *ob = out + b * JB_QK8_0;
        for (int j = 0; j < 4; j++) {
            __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(w[b].qs + 8 * j)));
            _mm256_storeu_ps(ob + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
        }
    }
    if (b * JB_QK8_0 < n)
        jb_ref_dequant_q8_0(w + b, out + b * JB_QK8_0, n - b * JB_QK8_0);
}

static void avx2_bf16_to_f32(const uint16_t *w, float *out, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, load8_bf16(w + i));
    for (; i < n; i++)
        out[i] = jb_bf16_to_f32(w[i]);
}

static const struct jb_kernel_ops avx2_ops = {
    .name = "avx2",
    .sum_f32 = avx2_sum_f32,
    .dot_f32 = avx2_dot_f32,
    .dot_bf16 = avx2_dot_bf16,
    .dot_q8_0 = avx2_dot_q8_0,
    .quantize_q8_0 = avx2_quantize_q8_0,
    .quantize_q8_x = avx2_quantize_q8_x,
    .dequant_q8_0 = avx2_dequant_q8_0,
    .bf16_to_f32 = avx2_bf16_to_f32,
};

const struct jb_kernel_ops *jb_kernels_avx2(void)
{
    unsigned eax, ebx, ecx, edx;
    __builtin_cpu_init();
    /* F16C is CPUID.1:ECX bit 29 (not every compiler's __builtin_cpu_supports knows it) */
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c)
        return &avx2_ops;
    return NULL;
}
