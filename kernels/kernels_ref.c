/*
 * kernels_ref.c — the scalar reference kernel table: plain C, portable, the oracle.
 *
 * Faster paths (kernels_avx2.c) replace only the slots they speed up and are tested against
 * these functions. Quantization rounds to nearest even (nearbyintf), as the vector paths do,
 * so every path produces bit-identical q8_0 blocks. The 4-bit weight formats (q4_0, q4_K) keep
 * llama.cpp's block layouts byte for byte; their quantizers (ours, run at load time) have no
 * vector version.
 */
#include "jb_kernels.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

float jb_ref_sum_f32(const float *a, int64_t n)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += a[i];
    return sum;
}

float jb_ref_dot_f32(const float *a, const float *b, int64_t n)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

float jb_ref_dot_bf16(const uint16_t *w, const float *x, int64_t n)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += jb_bf16_to_f32(w[i]) * x[i];
    return sum;
}

float jb_ref_dot_q8_0(const jb_block_q8_0 *w, const jb_block_q8_x *x, int64_t n_blocks)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n_blocks; b++) {
        int32_t isum = 0;
        for (int i = 0; i < JB_QK8_0; i++)
            isum += (int32_t)w[b].qs[i] * (int32_t)x[b].qs[i];
        sum += (float)isum * (jb_fp16_to_f32(w[b].d) * x[b].d);
    }
    return sum;
}

/* One block of up to 32 values: scale amax/127 (f32), values rounded to nearest even. */
static float quantize_block(const float *xb, int64_t len, int8_t qs[JB_QK8_0])
{
    float amax = 0.0f;
    for (int64_t i = 0; i < len; i++)
        amax = fmaxf(amax, fabsf(xb[i]));
    /* A block below 127 * FLT_MIN is flushed to zero: its 1/d would overflow. */
    const float d = amax / 127.0f >= FLT_MIN ? amax / 127.0f : 0.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    /* A NaN (or an infinity, whose block scales it to inf * 0) quantizes to 0: converting it
     * to an integer would be undefined. Finite values lie within +-127 after scaling. */
    for (int64_t i = 0; i < JB_QK8_0; i++) {
        const float q = i < len ? xb[i] * id : 0.0f;
        qs[i] = q == q ? (int8_t)nearbyintf(q) : 0;
    }
    return d;
}

void jb_ref_quantize_q8_0(const float *x, jb_block_q8_0 *out, int64_t n)
{
    for (int64_t b = 0; b * JB_QK8_0 < n; b++) {
        int64_t len = n - b * JB_QK8_0 < JB_QK8_0 ? n - b * JB_QK8_0 : JB_QK8_0;
        out[b].d = jb_f32_to_fp16(quantize_block(x + b * JB_QK8_0, len, out[b].qs));
    }
}

void jb_ref_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n)
{
    for (int64_t b = 0; b * JB_QK8_0 < n; b++) {
        int64_t len = n - b * JB_QK8_0 < JB_QK8_0 ? n - b * JB_QK8_0 : JB_QK8_0;
        out[b].d = quantize_block(x + b * JB_QK8_0, len, out[b].qs);
        int32_t sum = 0;
        for (int i = 0; i < JB_QK8_0; i++) {
            out[b].aqs[i] = (uint8_t)abs(out[b].qs[i]);
            sum += out[b].qs[i];
        }
        out[b].sum = sum;
    }
}

void jb_ref_dequant_q8_0(const jb_block_q8_0 *w, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const jb_block_q8_0 *b = &w[i / JB_QK8_0];
        out[i] = jb_fp16_to_f32(b->d) * (float)b->qs[i % JB_QK8_0];
    }
}

void jb_ref_bf16_to_f32(const uint16_t *w, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = jb_bf16_to_f32(w[i]);
}

/* ---- 4-bit weights (llama.cpp's block layouts; the quantizers are ours) ------------------- */

/* round(v) clamped to [lo, hi]; NaN gives lo. Never converts an out-of-range float. */
static int round_clamp(float v, int lo, int hi)
{
    if (!(v >= (float)lo))
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int)nearbyintf(v);
}

/* Up to `len` values of x copied into a full block of `size`, zero-padded. */
static void padded_block(const float *x, int64_t len, float *out, int size)
{
    for (int i = 0; i < size; i++)
        out[i] = i < len ? x[i] : 0.0f;
}

/* One q4_0 block, llama.cpp's scheme: d = m / -8 where m is the value of largest magnitude
 * (sign kept), so m itself maps exactly to q = 0 and the other end of the range reaches 7d.
 * q = round(x / d) + 8 with d the stored fp16 scale, clamped to [0, 15]. */
static void quantize_q4_0_block(const float x[JB_QK4_0], jb_block_q4_0 *out)
{
    float amax = 0.0f, m = 0.0f;
    for (int i = 0; i < JB_QK4_0; i++) {
        if (fabsf(x[i]) > amax) { /* NaN compares false and is skipped */
            amax = fabsf(x[i]);
            m = x[i];
        }
    }
    out->d = jb_f32_to_fp16(m / -8.0f);
    const float d = jb_fp16_to_f32(out->d);
    uint8_t q[JB_QK4_0];
    for (int i = 0; i < JB_QK4_0; i++) /* a zero scale (all-zero block, underflow) stores 8s */
        q[i] = (uint8_t)(d != 0.0f && x[i] == x[i] ? round_clamp(x[i] / d + 8.0f, 0, 15) : 8);
    for (int j = 0; j < JB_QK4_0 / 2; j++)
        out->qs[j] = (uint8_t)(q[j] | q[j + JB_QK4_0 / 2] << 4);
}

void jb_ref_quantize_q4_0(const float *x, jb_block_q4_0 *out, int64_t n)
{
    for (int64_t b = 0; b * JB_QK4_0 < n; b++) {
        float xb[JB_QK4_0];
        const int64_t len = n - b * JB_QK4_0;
        padded_block(x + b * JB_QK4_0, len, xb, JB_QK4_0);
        quantize_q4_0_block(xb, &out[b]);
    }
}

void jb_ref_dequant_q4_0(const jb_block_q4_0 *w, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const jb_block_q4_0 *b = &w[i / JB_QK4_0];
        const int j = (int)(i % JB_QK4_0);
        const int q = j < JB_QK4_0 / 2 ? b->qs[j] & 0x0F : b->qs[j - JB_QK4_0 / 2] >> 4;
        out[i] = jb_fp16_to_f32(b->d) * (float)(q - 8);
    }
}

/* Integer sums of one q4_0 block against one activation block are exact; the float sum runs
 * block by block, as dot_q8_0's does. */
float jb_ref_dot_q4_0(const jb_block_q4_0 *w, const jb_block_q8_x *x, int64_t n_blocks)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n_blocks; b++) {
        int32_t isum = 0;
        for (int j = 0; j < JB_QK4_0 / 2; j++) {
            isum += ((w[b].qs[j] & 0x0F) - 8) * (int32_t)x[b].qs[j];
            isum += ((w[b].qs[j] >> 4) - 8) * (int32_t)x[b].qs[j + JB_QK4_0 / 2];
        }
        sum += (float)isum * (jb_fp16_to_f32(w[b].d) * x[b].d);
    }
    return sum;
}

void jb_q4_k_scale_min(const uint8_t scales[JB_K_SCALE_SIZE], int j, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = scales[j] & 63;
        *m = scales[j + 4] & 63;
    } else { /* low 4 bits in byte j+4, high 2 bits in the top bits of bytes j-4 and j */
        *sc = (uint8_t)((scales[j + 4] & 0x0F) | (scales[j - 4] >> 6) << 4);
        *m = (uint8_t)((scales[j + 4] >> 4) | (scales[j] >> 6) << 4);
    }
}

static void q4_k_pack_scale_min(uint8_t scales[JB_K_SCALE_SIZE], int j, int sc, int m)
{
    if (j < 4) {
        scales[j] = (uint8_t)((scales[j] & 0xC0) | sc);
        scales[j + 4] = (uint8_t)((scales[j + 4] & 0xC0) | m);
    } else {
        scales[j + 4] = (uint8_t)((sc & 0x0F) | (m & 0x0F) << 4);
        scales[j - 4] = (uint8_t)((scales[j - 4] & 0x3F) | (sc >> 4) << 6);
        scales[j] = (uint8_t)((scales[j] & 0x3F) | (m >> 4) << 6);
    }
}

/* One q4_K super-block. Ours, simpler than llama.cpp's weighted search (make_qkx2_quants):
 * each sub-block of 32 spans [lo, hi] with lo = min(0, min x), so its scale is (hi - lo) / 15
 * and its min -lo >= 0; the eight scales and mins are quantized to 6 bits against
 * d = max scale / 63 and dmin = max min / 63 (fp16), and the weights are then rounded against
 * the quantized sub-block scale and min, q = round((x + dmin * m) / (d * sc)) in [0, 15].
 * The error bound this gives is derived in tests/test_kernels.c (test_q4_k_error). */
static void quantize_q4_k_block(const float x[JB_QK_K], jb_block_q4_k *out)
{
    float scale[JB_QK_K / 32], min[JB_QK_K / 32], max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < JB_QK_K / 32; s++) {
        float lo = 0.0f, hi = 0.0f; /* fminf/fmaxf skip NaN */
        for (int i = 0; i < 32; i++) {
            lo = fminf(lo, x[32 * s + i]);
            hi = fmaxf(hi, x[32 * s + i]);
        }
        scale[s] = (hi - lo) / 15.0f;
        min[s] = -lo;
        max_scale = fmaxf(max_scale, scale[s]);
        max_min = fmaxf(max_min, min[s]);
    }
    out->d = jb_f32_to_fp16(max_scale / 63.0f);
    out->dmin = jb_f32_to_fp16(max_min / 63.0f);
    const float d = jb_fp16_to_f32(out->d), dmin = jb_fp16_to_f32(out->dmin);
    memset(out->scales, 0, sizeof out->scales);
    uint8_t q[JB_QK_K];
    for (int s = 0; s < JB_QK_K / 32; s++) {
        const int sc = d > 0.0f ? round_clamp(scale[s] / d, 0, 63) : 0;
        const int m = dmin > 0.0f ? round_clamp(min[s] / dmin, 0, 63) : 0;
        q4_k_pack_scale_min(out->scales, s, sc, m);
        const float dl = d * (float)sc, dm = dmin * (float)m;
        for (int i = 0; i < 32; i++) {
            const float xi = x[32 * s + i];
            q[32 * s + i] = (uint8_t)(dl > 0.0f ? round_clamp((xi + dm) / dl, 0, 15) : 0);
        }
    }
    for (int c = 0; c < JB_QK_K / 64; c++)
        for (int l = 0; l < 32; l++)
            out->qs[32 * c + l] = (uint8_t)(q[64 * c + l] | q[64 * c + 32 + l] << 4);
}

void jb_ref_quantize_q4_k(const float *x, jb_block_q4_k *out, int64_t n)
{
    for (int64_t b = 0; b * JB_QK_K < n; b++) {
        float xb[JB_QK_K];
        padded_block(x + b * JB_QK_K, n - b * JB_QK_K, xb, JB_QK_K);
        quantize_q4_k_block(xb, &out[b]);
    }
}

/* Weight i of a q4_K block (0..255) as its 4-bit code. */
static int q4_k_code(const jb_block_q4_k *b, int i)
{
    const uint8_t byte = b->qs[32 * (i / 64) + i % 32];
    return i % 64 < 32 ? byte & 0x0F : byte >> 4;
}

/* value = (d * sc) * q - (dmin * m): the products rounded to f32 first, as the vector paths do */
void jb_ref_dequant_q4_k(const jb_block_q4_k *w, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const jb_block_q4_k *b = &w[i / JB_QK_K];
        const int j = (int)(i % JB_QK_K);
        uint8_t sc, m;
        jb_q4_k_scale_min(b->scales, j / 32, &sc, &m);
        const float dl = jb_fp16_to_f32(b->d) * (float)sc, dm = jb_fp16_to_f32(b->dmin) * (float)m;
        out[i] = dl * (float)q4_k_code(b, j) - dm;
    }
}

/* Per sub-block s against activation block s: d*sc*dx * sum(q*x) - dmin*m*dx * sum(x), both
 * integer sums exact. */
float jb_ref_dot_q4_k(const jb_block_q4_k *w, const jb_block_q8_x *x, int64_t n_super)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n_super; b++) {
        const float d = jb_fp16_to_f32(w[b].d), dmin = jb_fp16_to_f32(w[b].dmin);
        for (int s = 0; s < JB_QK_K / 32; s++) {
            const jb_block_q8_x *xs = &x[b * (JB_QK_K / 32) + s];
            uint8_t sc, m;
            jb_q4_k_scale_min(w[b].scales, s, &sc, &m);
            int32_t isum = 0;
            for (int i = 0; i < 32; i++)
                isum += q4_k_code(&w[b], 32 * s + i) * (int32_t)xs->qs[i];
            const float scale = d * (float)sc * xs->d, mscale = dmin * (float)m * xs->d;
            sum += (float)isum * scale - (float)xs->sum * mscale;
        }
    }
    return sum;
}

static const struct jb_kernel_ops ref_ops = {
    .name = "ref",
    .sum_f32 = jb_ref_sum_f32,
    .dot_f32 = jb_ref_dot_f32,
    .dot_bf16 = jb_ref_dot_bf16,
    .dot_q8_0 = jb_ref_dot_q8_0,
    .quantize_q8_0 = jb_ref_quantize_q8_0,
    .quantize_q8_x = jb_ref_quantize_q8_x,
    .dequant_q8_0 = jb_ref_dequant_q8_0,
    .bf16_to_f32 = jb_ref_bf16_to_f32,
    .dot_q4_0 = jb_ref_dot_q4_0,
    .dot_q4_k = jb_ref_dot_q4_k,
    .dequant_q4_0 = jb_ref_dequant_q4_0,
    .dequant_q4_k = jb_ref_dequant_q4_k,
};

const struct jb_kernel_ops *jb_kernels_ref(void)
{
    return &ref_ops;
}
