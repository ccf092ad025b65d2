/*
 * attention.c — causal grouped-query attention over one sequence's KV cache.
 *
 * Scores and the weighted sum of values are matrix products, so both go to cblas_sgemm
 * (single-threaded inside our OpenMP region). Prefill splits the work into (head, block of
 * 64 queries) units and computes only the keys a block can see. Decode has one query per
 * head, so the query heads sharing a KV head form one small matrix and each KV head's keys
 * and values are read once per step.
 */
#include "jb_kernels.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#define Q_BLOCK 64

static int64_t rows_per_unit(const struct jb_attn_shape *s)
{
    const int64_t group = s->n_heads / s->n_kv_heads;
    return group > Q_BLOCK ? group : Q_BLOCK;
}

size_t jb_attention_scratch_floats(int64_t n, int64_t ctx_len, int n_threads)
{
    (void)n;
    /* rows_per_unit never exceeds Q_BLOCK for group sizes up to 64 (405B has 16). */
    return (size_t)n_threads * Q_BLOCK * (size_t)ctx_len;
}

static void decode_one(float *out, const float *q, const float *k, const float *v, int64_t len,
    const struct jb_attn_shape *s, float *scratch)
{
    const int64_t hd = s->head_dim, group = s->n_heads / s->n_kv_heads;
#pragma omp parallel for schedule(static)
    for (int64_t kvh = 0; kvh < s->n_kv_heads; kvh++) {
        float *sc = scratch + (size_t)omp_get_thread_num() * rows_per_unit(s) * len;
        const float *kh = k + kvh * s->ctx_cap * hd, *vh = v + kvh * s->ctx_cap * hd;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)group, (int)len, (int)hd,
            s->scale, q + kvh * group * hd, (int)hd, kh, (int)hd, 0.0f, sc, (int)len);
        for (int64_t i = 0; i < group; i++)
            jb_softmax(sc + i * len, len);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)group, (int)hd, (int)len, 1.0f,
            sc, (int)len, vh, (int)hd, 0.0f, out + kvh * group * hd, (int)hd);
    }
}

void jb_attention(float *out, const float *q, int64_t ldq, const float *k, const float *v,
    int64_t n, int64_t pos0, const struct jb_attn_shape *s, float *scratch)
{
    JB_ASSERT(s->n_kv_heads > 0 && s->n_heads % s->n_kv_heads == 0);
    JB_ASSERT(rows_per_unit(s) == Q_BLOCK);
    if (n == 1) {
        decode_one(out, q, k, v, pos0 + 1, s, scratch);
        return;
    }
    const int64_t hd = s->head_dim, ld = s->n_heads * hd, group = s->n_heads / s->n_kv_heads;
    const int64_t n_blocks = (n + Q_BLOCK - 1) / Q_BLOCK, units = s->n_heads * n_blocks;
    const size_t stride = (size_t)Q_BLOCK * (size_t)(pos0 + n);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; u++) {
        const int64_t h = u / n_blocks, i0 = (u % n_blocks) * Q_BLOCK;
        const int64_t m = n - i0 < Q_BLOCK ? n - i0 : Q_BLOCK, len = pos0 + i0 + m;
        const float *kh = k + (h / group) * s->ctx_cap * hd,
                    *vh = v + (h / group) * s->ctx_cap * hd;
        float *sc = scratch + (size_t)omp_get_thread_num() * stride;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)len, (int)hd, s->scale,
            q + i0 * ldq + h * hd, (int)ldq, kh, (int)hd, 0.0f, sc, (int)len);
        for (int64_t i = 0; i < m; i++) {
            const int64_t visible = pos0 + i0 + i + 1; /* causal: keys 0 .. own position */
            jb_softmax(sc + i * len, visible);
            memset(sc + i * len + visible, 0, (size_t)(len - visible) * sizeof(float));
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)hd, (int)len, 1.0f, sc,
            (int)len, vh, (int)hd, 0.0f, out + i0 * ld + h * hd, (int)ld);
    }
}
