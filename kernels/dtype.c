/*
 * dtype.c — storage types: names, sizes and scalar conversions (fp16, bf16, q8_0 rows).
 *
 * Conversions round to nearest, ties to even, as F16C's vcvtps2ph and PyTorch's .to(bfloat16)
 * do, so the scalar and vector paths produce the same bits.
 */
#include "jb_kernels.h"

#include <math.h>
#include <string.h>

static const char *const dtype_names[JB_DTYPE_COUNT] = {
    [JB_DTYPE_F32] = "f32",
    [JB_DTYPE_BF16] = "bf16",
    [JB_DTYPE_Q8_0] = "q8_0",
};

const char *jb_dtype_name(enum jb_dtype t)
{
    return (t >= 0 && t < JB_DTYPE_COUNT) ? dtype_names[t] : "?";
}

int jb_dtype_parse(const char *s, enum jb_dtype *out)
{
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        if (s && strcmp(s, dtype_names[t]) == 0) {
            *out = (enum jb_dtype)t;
            return 0;
        }
    }
    return JB_EINVAL;
}

size_t jb_dtype_row_bytes(enum jb_dtype t, int64_t n)
{
    switch (t) {
    case JB_DTYPE_F32: return (size_t)n * sizeof(float);
    case JB_DTYPE_BF16: return (size_t)n * sizeof(uint16_t);
    case JB_DTYPE_Q8_0: return (size_t)((n + JB_QK8_0 - 1) / JB_QK8_0) * sizeof(jb_block_q8_0);
    default: return 0;
    }
}

typedef union {
    uint32_t u;
    float f;
} f32_bits;

float jb_fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    f32_bits v;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24 */
        float mag = ldexpf((float)mant, -24);
        return sign ? -mag : mag;
    }
    if (exp == 31)
        v.u = sign | 0x7f800000u | (mant << 13);
    else
        v.u = sign | ((exp + 112u) << 23) | (mant << 13);
    return v.f;
}

uint16_t jb_f32_to_fp16(float f)
{
    const uint32_t f32_inf = 255u << 23;
    const uint32_t f16_overflow = (127u + 16u) << 23; /* 65536: rounds to inf from 65520 up */
    const f32_bits denorm_magic = { .u = ((127u - 15u) + (23u - 10u) + 1u) << 23 };
    f32_bits v = { .f = f };
    uint32_t sign = v.u & 0x80000000u;
    uint16_t out;

    v.u ^= sign;
    if (v.u >= f16_overflow) {
        out = (v.u > f32_inf) ? 0x7e00 : 0x7c00; /* NaN stays NaN, the rest is inf */
    } else if (v.u < (113u << 23)) {
        /* Below fp16's normal range: let the FPU's add round the mantissa for us. */
        v.f += denorm_magic.f;
        out = (uint16_t)(v.u - denorm_magic.u);
    } else {
        uint32_t mant_odd = (v.u >> 13) & 1u;
        v.u += ((uint32_t)(15 - 127) << 23) + 0xfffu; /* rebias, round half up... */
        v.u += mant_odd;                              /* ...and to even on ties */
        out = (uint16_t)(v.u >> 13);
    }
    return (uint16_t)(out | (sign >> 16));
}

uint16_t jb_f32_to_bf16(float f)
{
    f32_bits v = { .f = f };
    if ((v.u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((v.u >> 16) | 0x40u); /* quiet NaN */
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)(v.u >> 16);
}

void jb_row_from_f32(enum jb_dtype t, void *dst, const float *src, int64_t n)
{
    switch (t) {
    case JB_DTYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case JB_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = jb_f32_to_bf16(src[i]);
        break;
    case JB_DTYPE_Q8_0: jb_ref_quantize_q8_0(src, dst, n); break;
    default: JB_ASSERT(!"unknown dtype");
    }
}
