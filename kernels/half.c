/*
 * half.c — scalar conversions between f32 and the 16-bit floats (IEEE fp16, bfloat16).
 *
 * Conversions round to nearest, ties to even, as F16C's vcvtps2ph and PyTorch's .to(bfloat16)
 * do, so the scalar and vector paths produce the same bits. Depends on nothing else in
 * kernels/, so the reference kernels, dtype.c and the fp16 table generator can all use it.
 */
#include "jb_kernels.h"

#include <math.h>

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
