/*
 * kernels_avx2.c — AVX2 + FMA + F16C overrides of the reference kernel table.
 *
 * Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); only reached after a runtime check of
 * the CPU (jb_kernels_avx2 returns NULL otherwise). The q8_0 dot product multiplies int8 by
 * int8 with maddubs (unsigned by signed): |x| times w carrying x's sign; q4_0 does the same
 * with its codes minus 8, and q4_K feeds its unsigned 4-bit codes straight to maddubs, taking
 * the sub-block mins off with the activation block sums (jb_block_q8_x.sum).
 */
#include "jb_kernels.h"

#include <cpuid.h>
#include <float.h>
#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

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

/* Sum of 32 int8 values (exact: maddubs by 1 gives int16 pairs, madd widens to int32). */
static inline int32_t hsum_epi8(__m256i v)
{
    const __m256i s32 = _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_set1_epi8(1), v), _mm256_set1_epi16(1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static void avx2_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK8_0 <= n; b++) {
        __m256i q8;
        out[b].d = quantize32(x + b * JB_QK8_0, &q8);
        _mm256_storeu_si256((__m256i *)out[b].qs, q8);
        _mm256_storeu_si256((__m256i *)out[b].aqs, _mm256_abs_epi8(q8));
        out[b].sum = hsum_epi8(q8);
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

/* ---- 4-bit weights ------------------------------------------------------------------------ */

/* The 32 codes of a q4_0 block in value order: low nibbles are values 0..15, high 16..31. */
static inline __m256i q4_0_codes(const jb_block_q4_0 *w)
{
    const __m128i b = _mm_loadu_si128((const __m128i *)w->qs);
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* One q4_0 block against one activation block: sum(q * x) over the unsigned codes q (0..15,
 * maddubs' unsigned operand; pairs within 2 * 15 * 127) as 8 int32 lanes in f32. The -8 offset
 * is taken off once per block through the activation sum: sum((q - 8) x) = sum(q x) - 8 sum(x). */
static inline __m256 q4_0_block_dot(const jb_block_q4_0 *w, const jb_block_q8_x *x)
{
    const __m256i pairs
        = _mm256_maddubs_epi16(q4_0_codes(w), _mm256_loadu_si256((const __m256i *)x->qs));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

static float avx2_dot_q4_0(const jb_block_q4_0 *w, const jb_block_q8_x *x, int64_t n_blocks)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float offset = 0.0f; /* sum over blocks of scale * sum(x) */
    int64_t b = 0;
    for (; b + 2 <= n_blocks; b += 2) {
        _mm_prefetch((const char *)(w + b) + PREFETCH_BYTES, _MM_HINT_T0);
        const float s0 = fp16(w[b].d) * x[b].d, s1 = fp16(w[b + 1].d) * x[b + 1].d;
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(s0), q4_0_block_dot(&w[b], &x[b]), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(s1), q4_0_block_dot(&w[b + 1], &x[b + 1]), acc1);
        offset += s0 * (float)x[b].sum + s1 * (float)x[b + 1].sum;
    }
    if (b < n_blocks) {
        const float s0 = fp16(w[b].d) * x[b].d;
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(s0), q4_0_block_dot(&w[b], &x[b]), acc0);
        offset += s0 * (float)x[b].sum;
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) - 8.0f * offset;
}

/* The eight 6-bit scales (sc[0..7]) and mins (m[0..7]) of a q4_K block, unpacked four at a time
 * as 32-bit words: bytes 0-3 hold sc0-3 and the top bits of sc4-7, bytes 4-7 m0-3 and the top
 * bits of m4-7, bytes 8-11 the low nibbles of sc4-7 (low) and m4-7 (high). */
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

/* 32 codes (unsigned, 0..15) against one activation block (signed): 8 int32 lanes in f32. */
static inline __m256 q4_k_sub_dot(__m256i codes, const jb_block_q8_x *x)
{
    const __m256i pairs
        = _mm256_maddubs_epi16(codes, _mm256_loadu_si256((const __m256i *)x->qs));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/* Per super-block, the scalar work is vectorized over its 8 sub-blocks: the activation blocks'
 * scales and sums are gathered (jb_block_q8_x is 18 floats apart), giving every sub-block's
 * factor d * sc * dx at once and the whole min term dmin * m * dx * sum(x) as one FMA. */
static float avx2_dot_q4_k(const jb_block_q4_k *w, const jb_block_q8_x *x, int64_t n_super)
{
    _Static_assert(sizeof(jb_block_q8_x) % sizeof(float) == 0, "gather stride in floats");
    const int stride = (int)(sizeof(jb_block_q8_x) / sizeof(float));
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        _mm256_set1_epi32(stride));
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
        _mm256_storeu_ps(f, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(fp16(w[b].d)), sc), dx));
        mins = _mm256_fmadd_ps(
            _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(fp16(w[b].dmin)), m), dx), xsum, mins);
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

/* Values are exact products (fp16 scale times a 4-bit code fits f32's mantissa), so every path
 * gives the reference's floats bit for bit. */
static void avx2_dequant_q4_0(const jb_block_q4_0 *w, float *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK4_0 <= n; b++) {
        const __m256 d = _mm256_set1_ps(fp16(w[b].d));
        const __m256i q = _mm256_sub_epi8(q4_0_codes(&w[b]), _mm256_set1_epi8(8));
        const __m128i q16[2] = { _mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1) };
        float *ob = out + b * JB_QK4_0;
        for (int j = 0; j < 4; j++) {
            const __m128i part = j % 2 ? _mm_srli_si128(q16[j / 2], 8) : q16[j / 2];
            _mm256_storeu_ps(
                ob + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part))));
        }
    }
    if (b * JB_QK4_0 < n)
        jb_ref_dequant_q4_0(w + b, out + b * JB_QK4_0, n - b * JB_QK4_0);
}

/* dl * q - dm: dl * q is exact (17-bit scale times 4-bit code), so fused or not, one rounding. */
static void avx2_dequant_q4_k(const jb_block_q4_k *w, float *out, int64_t n)
{
    int64_t b = 0;
    for (; (b + 1) * JB_QK_K <= n; b++) {
        const float d = fp16(w[b].d), dmin = fp16(w[b].dmin);
        uint8_t sc[8], m[8];
        q4_k_scales(&w[b], sc, m);
        for (int s = 0; s < JB_QK_K / 32; s++) {
            const __m256 dl = _mm256_set1_ps(d * (float)sc[s]);
            const __m256 dm = _mm256_set1_ps(dmin * (float)m[s]);
            const __m128i v = _mm_loadu_si128((const __m128i *)(w[b].qs + 32 * (s / 2)));
            const __m128i v2 = _mm_loadu_si128((const __m128i *)(w[b].qs + 32 * (s / 2) + 16));
            const int shift = s % 2 ? 4 : 0;
            const __m128i low4 = _mm_set1_epi8(0x0F);
            const __m128i c0 = _mm_and_si128(_mm_srli_epi16(v, shift), low4);
            const __m128i c1 = _mm_and_si128(_mm_srli_epi16(v2, shift), low4);
            const __m128i parts[4] = { c0, _mm_srli_si128(c0, 8), c1, _mm_srli_si128(c1, 8) };
            float *ob = out + b * JB_QK_K + 32 * s;
            for (int j = 0; j < 4; j++) {
                const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[j]));
                _mm256_storeu_ps(ob + 8 * j, _mm256_sub_ps(_mm256_mul_ps(dl, q), dm));
            }
        }
    }
    if (b * JB_QK_K < n)
        jb_ref_dequant_q4_k(w + b, out + b * JB_QK_K, n - b * JB_QK_K);
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
    .dot_q4_0 = avx2_dot_q4_0,
    .dot_q4_k = avx2_dot_q4_k,
    .dequant_q4_0 = avx2_dequant_q4_0,
    .dequant_q4_k = avx2_dequant_q4_k,
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
