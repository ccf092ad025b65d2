/*
 * dtype.c — storage types: names, sizes, and f32 rows converted into each of them.
 *
 * The scalar fp16/bf16 conversions live in half.c and q8_0/q4_0/q4_K quantization in
 * kernels_ref.c; this file only dispatches on the type, so the dependencies run one way.
 */
#include "jb_kernels.h"

#include <string.h>

static const char *const dtype_names[JB_DTYPE_COUNT] = {
    [JB_DTYPE_F32] = "f32",
    [JB_DTYPE_BF16] = "bf16",
    [JB_DTYPE_Q8_0] = "q8_0",
    [JB_DTYPE_Q4_0] = "q4_0",
    [JB_DTYPE_Q4_K] = "q4_k",
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
    case JB_DTYPE_Q4_0: return (size_t)((n + JB_QK4_0 - 1) / JB_QK4_0) * sizeof(jb_block_q4_0);
    case JB_DTYPE_Q4_K: return (size_t)((n + JB_QK_K - 1) / JB_QK_K) * sizeof(jb_block_q4_k);
    default: return 0;
    }
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
    case JB_DTYPE_Q4_0: jb_ref_quantize_q4_0(src, dst, n); break;
    case JB_DTYPE_Q4_K: jb_ref_quantize_q4_k(src, dst, n); break;
    default: JB_ASSERT(!"unknown dtype");
    }
}
