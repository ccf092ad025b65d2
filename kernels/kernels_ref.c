/*
 * kernels_ref.c — the scalar reference kernel table: plain C, portable, the oracle.
 *
 * Faster paths (kernels_avx2.c) replace only the slots they speed up and are tested against
 * these functions. Quantization rounds to nearest even (nearbyintf), as the vector paths do,
 * so every path produces bit-identical q8_0 blocks.
 */
#include "jb_kernels.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

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
        for (int i = 0; i < JB_QK8_0; i++)
            out[b].aqs[i] = (uint8_t)abs(out[b].qs[i]);
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
};

const struct jb_kernel_ops *jb_kernels_ref(void)
{
    return &ref_ops;
}
