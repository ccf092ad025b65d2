/*
 * ops.c — element-wise and row operations of a transformer layer: norms, softmax, gated
 * activations, residual adds, embedding rows and rotary position embedding.
 *
 * Reductions accumulate in double: these run once per row per layer, so exactness is cheap,
 * and it keeps the result independent of summation order across kernel paths.
 */
#include "jb_kernels.h"

#include <math.h>

void jb_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    const float inv = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    for (int64_t i = 0; i < n; i++)
        out[i] = w[i] * (x[i] * inv);
}

void jb_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n, float eps)
{
    double sum = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    const double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++)
        ss += ((double)x[i] - mean) * ((double)x[i] - mean);
    const double inv = 1.0 / sqrt(ss / (double)n + (double)eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(((double)x[i] - mean) * inv) * w[i] + (b ? b[i] : 0.0f);
}

void jb_softmax(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

void jb_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void jb_geglu_tanh(float *out, const float *gate, const float *up, int64_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = 0.5f * g * (1.0f + tanhf(k * (g + 0.044715f * g * g * g))) * up[i];
    }
}

void jb_geglu_erf(float *out, const float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = 0.5f * gate[i] * (1.0f + erff(gate[i] * 0.70710678118654752f)) * up[i];
}

void jb_add(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

void jb_scale(float *y, float s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] *= s;
}

void jb_tensor_row_f32(
    const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t row, float *out)
{
    const char *src = (const char *)w->data + (size_t)row * jb_dtype_row_bytes(w->dtype, w->cols);
    switch (w->dtype) {
    case JB_DTYPE_F32:
        for (int64_t i = 0; i < w->cols; i++)
            out[i] = ((const float *)src)[i];
        break;
    case JB_DTYPE_BF16: k->bf16_to_f32((const uint16_t *)src, out, w->cols); break;
    case JB_DTYPE_Q8_0: k->dequant_q8_0((const jb_block_q8_0 *)src, out, w->cols); break;
    case JB_DTYPE_Q4_0: k->dequant_q4_0((const jb_block_q4_0 *)src, out, w->cols); break;
    case JB_DTYPE_Q4_K: k->dequant_q4_k((const jb_block_q4_k *)src, out, w->cols); break;
    default: JB_ASSERT(!"unknown dtype");
    }
}

void jb_rope(float *x, int64_t n_heads, int64_t head_dim, const float *cos, const float *sin)
{
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < half; i++) {
            const float a = v[i], b = v[i + half];
            v[i] = a * cos[i] - b * sin[i];
            v[i + half] = b * cos[i] + a * sin[i];
        }
    }
}
