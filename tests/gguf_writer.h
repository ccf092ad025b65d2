/*
 * gguf_writer.h — a small GGUF v3 writer for tests and tools (test_gguf.c, make_gguf.c), written
 * from ggml's docs/gguf.md, independent of models/gguf.c: metadata pairs and tensor infos are
 * built in memory, then the file is streamed (header, padding, each tensor's bytes in order),
 * so a tool can write a billion-weight file without holding it. Also the encodings a test
 * needs, written here rather than trusted from kernels/: fp16 and bf16 bits, and llama.cpp's
 * q8_0 / q4_0 blocks (quantize) with their dequantisation, plus the Q4_K / Q6_K dequantisation
 * of blocks the tests fill at random.
 *
 * Header-only (static functions); aborts on I/O errors (test and tool code).
 */
#ifndef GGUF_WRITER_H
#define GGUF_WRITER_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    GW_F32 = 0,
    GW_F16 = 1,
    GW_Q4_0 = 2,
    GW_Q8_0 = 8,
    GW_Q4_K = 12,
    GW_Q6_K = 14,
    GW_BF16 = 30,
};
enum { GWV_U32 = 4, GWV_I32 = 5, GWV_F32 = 6, GWV_BOOL = 7, GWV_STRING = 8, GWV_ARRAY = 9 };

#define GW_MAX_TENSORS 1024

struct gw_bytes {
    unsigned char *p;
    size_t len, cap;
};

static inline void gw_put(struct gw_bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n > cap)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static inline void gw_u32(struct gw_bytes *b, uint32_t v)
{
    gw_put(b, &v, 4);
}
static inline void gw_u64(struct gw_bytes *b, uint64_t v)
{
    gw_put(b, &v, 8);
}
static inline void gw_str(struct gw_bytes *b, const char *s)
{
    gw_u64(b, strlen(s));
    gw_put(b, s, strlen(s));
}

struct gw_tensor {
    char name[96];
    uint32_t n_dims, type;
    uint64_t ne[4];
    uint64_t offset, bytes;
    size_t info_at; /* where its info starts in the info buffer */
};

struct gw {
    struct gw_bytes kv, info;
    uint64_t n_kv;
    struct gw_tensor t[GW_MAX_TENSORS];
    int n_tensors;
    uint64_t data_bytes; /* so far, with padding */
    uint32_t alignment;  /* 32 unless set before the first tensor */
    FILE *out;
    uint64_t written; /* data bytes written */
    int next;         /* next tensor to write */
};

/* The block size and block bytes of the types written here. */
static inline void gw_type_size(uint32_t type, uint64_t *block, uint64_t *bytes)
{
    switch (type) {
    case GW_F32: *block = 1, *bytes = 4; break;
    case GW_F16:
    case GW_BF16: *block = 1, *bytes = 2; break;
    case GW_Q8_0: *block = 32, *bytes = 34; break;
    case GW_Q4_0: *block = 32, *bytes = 18; break;
    case GW_Q4_K: *block = 256, *bytes = 144; break;
    case GW_Q6_K: *block = 256, *bytes = 210; break;
    default: *block = 1, *bytes = 4; break; /* a foreign type id (tests): sized as F32 */
    }
}

static inline uint64_t gw_row_bytes(uint32_t type, uint64_t n)
{
    uint64_t block, bytes;
    gw_type_size(type, &block, &bytes);
    return n / block * bytes;
}

static inline void gw_key(struct gw *w, const char *key, uint32_t type)
{
    gw_str(&w->kv, key);
    gw_u32(&w->kv, type);
    w->n_kv++;
}

static inline void gw_kv_str(struct gw *w, const char *key, const char *v)
{
    gw_key(w, key, GWV_STRING);
    gw_str(&w->kv, v);
}

static inline void gw_kv_u32(struct gw *w, const char *key, uint32_t v)
{
    gw_key(w, key, GWV_U32);
    gw_u32(&w->kv, v);
}

static inline void gw_kv_f32(struct gw *w, const char *key, float v)
{
    gw_key(w, key, GWV_F32);
    gw_put(&w->kv, &v, 4);
}

/* An array of n strings (strs NULL: "<t0>", "<t1>", ...). */
static inline void gw_kv_strs(struct gw *w, const char *key, const char *const *strs, uint64_t n)
{
    char tmp[32];
    gw_key(w, key, GWV_ARRAY);
    gw_u32(&w->kv, GWV_STRING);
    gw_u64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++) {
        if (!strs)
            snprintf(tmp, sizeof tmp, "<t%llu>", (unsigned long long)i);
        gw_str(&w->kv, strs ? strs[i] : tmp);
    }
}

/* An array of n 4-byte values of type GWV_F32 or GWV_I32 (v NULL: zeros). */
static inline void gw_kv_arr4(
    struct gw *w, const char *key, uint32_t type, const void *v, uint64_t n)
{
    gw_key(w, key, GWV_ARRAY);
    gw_u32(&w->kv, type);
    gw_u64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++)
        gw_put(&w->kv, v ? (const char *)v + 4 * i : "\0\0\0\0", 4);
}

/* Declares a tensor of ne[0..n_dims) (ggml order: ne[0] is the row length); returns its index.
 * Its bytes are written later, in declaration order (gw_write_tensor). */
static inline int gw_tensor(
    struct gw *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne)
{
    if (w->n_tensors == GW_MAX_TENSORS)
        abort();
    if (!w->alignment)
        w->alignment = 32;
    struct gw_tensor *t = &w->t[w->n_tensors];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->type = type;
    t->bytes = gw_row_bytes(type, ne[0]);
    for (uint32_t i = 0; i < n_dims; i++) {
        t->ne[i] = ne[i];
        if (i)
            t->bytes *= ne[i];
    }
    w->data_bytes += (w->alignment - w->data_bytes % w->alignment) % w->alignment;
    t->offset = w->data_bytes;
    w->data_bytes += t->bytes;
    t->info_at = w->info.len;
    gw_str(&w->info, name);
    gw_u32(&w->info, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        gw_u64(&w->info, ne[i]);
    gw_u32(&w->info, type);
    gw_u64(&w->info, t->offset);
    return w->n_tensors++;
}

/* Byte position in the file of the info of tensor i: the start of its name's length. */
static inline size_t gw_info_pos(const struct gw *w, int i)
{
    return 24 + w->kv.len + w->t[i].info_at;
}

/* Position of tensor i's type field, and of its offset field, in the file. */
static inline size_t gw_type_pos(const struct gw *w, int i)
{
    return gw_info_pos(w, i) + 8 + strlen(w->t[i].name) + 4 + 8 * w->t[i].n_dims;
}

static inline size_t gw_header_bytes(const struct gw *w)
{
    const size_t n = 24 + w->kv.len + w->info.len;
    return n + (w->alignment - n % w->alignment) % w->alignment;
}

/* Writes the header (magic, version 3, counts, metadata, tensor infos, padding) to path. */
static inline void gw_begin(struct gw *w, const char *path)
{
    if (!w->alignment)
        w->alignment = 32;
    w->out = fopen(path, "wb");
    if (!w->out)
        abort();
    struct gw_bytes h = { 0 };
    gw_put(&h, "GGUF", 4);
    gw_u32(&h, 3);
    gw_u64(&h, (uint64_t)w->n_tensors);
    gw_u64(&h, w->n_kv);
    gw_put(&h, w->kv.p, w->kv.len);
    gw_put(&h, w->info.p, w->info.len);
    while (h.len % w->alignment)
        gw_put(&h, "", 1);
    if (fwrite(h.p, 1, h.len, w->out) != h.len)
        abort();
    free(h.p);
}

/* Writes the next tensor's bytes (padding before it as its offset says). */
static inline void gw_write_tensor(struct gw *w, const void *bytes)
{
    const struct gw_tensor *t = &w->t[w->next++];
    for (; w->written < t->offset; w->written++)
        if (fputc(0, w->out) == EOF)
            abort();
    if (t->bytes && fwrite(bytes, 1, t->bytes, w->out) != t->bytes)
        abort();
    w->written += t->bytes;
}

/* Streaming a tensor in parts: gw_next_tensor pads to the next tensor's offset, gw_append
 * writes some of its bytes (the caller writes exactly its size in all). */
static inline void gw_next_tensor(struct gw *w)
{
    const struct gw_tensor *t = &w->t[w->next++];
    for (; w->written < t->offset; w->written++)
        if (fputc(0, w->out) == EOF)
            abort();
}

static inline void gw_append(struct gw *w, const void *bytes, size_t n)
{
    if (n && fwrite(bytes, 1, n, w->out) != n)
        abort();
    w->written += n;
}

static inline void gw_end(struct gw *w)
{
    if (fclose(w->out) != 0)
        abort();
    free(w->kv.p);
    free(w->info.p);
    memset(w, 0, sizeof *w);
}

/* ---- encodings --------------------------------------------------------------------------- */

static inline uint16_t gw_f16_bits(float f) /* round to nearest even; |f| < 65504, no NaN */
{
    const double a = fabs((double)f);
    const uint16_t sign = signbit(f) ? 0x8000u : 0;
    if (a < 0x1p-14)
        return (uint16_t)(sign | (uint16_t)nearbyint(a * 0x1p24));
    int e;
    const double m = frexp(a, &e);
    double mant = nearbyint((2.0 * m - 1.0) * 1024.0);
    int exp = e - 1 + 15;
    if (mant == 1024.0) {
        mant = 0.0;
        exp++;
    }
    return (uint16_t)(sign | (uint16_t)(exp << 10) | (uint16_t)mant);
}

static inline float gw_f16_value(uint16_t h)
{
    const int exp = (h >> 10) & 31, mant = h & 1023;
    const double v = exp ? ldexp(1024 + mant, exp - 25) : ldexp(mant, -24);
    return (float)((h & 0x8000u) ? -v : v);
}

static inline uint16_t gw_bf16_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float gw_bf16_value(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* llama.cpp's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d). */
static inline void gw_quantize_q8_0(const float *x, unsigned char *out, int64_t n)
{
    for (int64_t b = 0; b < n / 32; b++, x += 32, out += 34) {
        float amax = 0.0f;
        for (int i = 0; i < 32; i++)
            amax = fmaxf(amax, fabsf(x[i]));
        const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        const uint16_t h = gw_f16_bits(d);
        memcpy(out, &h, 2);
        for (int i = 0; i < 32; i++)
            out[2 + i] = (unsigned char)(int8_t)lroundf(x[i] * id);
    }
}

/* llama.cpp's quantize_row_q4_0_ref: d = max / -8 (max the value of largest magnitude),
 * q = min(15, (int)(x / d + 8.5)). */
static inline void gw_quantize_q4_0(const float *x, unsigned char *out, int64_t n)
{
    for (int64_t b = 0; b < n / 32; b++, x += 32, out += 18) {
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < 32; i++)
            if (fabsf(x[i]) > amax) {
                amax = fabsf(x[i]);
                max = x[i];
            }
        const float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
        const uint16_t h = gw_f16_bits(d);
        memcpy(out, &h, 2);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(x[j] * id + 8.5f), q1 = (int)(x[j + 16] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            out[2 + j] = (unsigned char)(q0 | (q1 << 4));
        }
    }
}

static inline void gw_dequant(uint32_t type, const unsigned char *in, float *y, int64_t n)
{
    switch (type) {
    case GW_F32: memcpy(y, in, (size_t)n * 4); return;
    case GW_F16:
    case GW_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, in + 2 * i, 2);
            y[i] = type == GW_F16 ? gw_f16_value(h) : gw_bf16_value(h);
        }
        return;
    case GW_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, in += 34) {
            uint16_t h;
            memcpy(&h, in, 2);
            for (int i = 0; i < 32; i++)
                *y++ = gw_f16_value(h) * (float)(int8_t)in[2 + i];
        }
        return;
    case GW_Q4_0:
        for (int64_t b = 0; b < n / 32; b++, in += 18, y += 32) {
            uint16_t h;
            memcpy(&h, in, 2);
            for (int j = 0; j < 16; j++) {
                y[j] = gw_f16_value(h) * (float)((in[2 + j] & 15) - 8);
                y[j + 16] = gw_f16_value(h) * (float)((in[2 + j] >> 4) - 8);
            }
        }
        return;
    case GW_Q4_K: /* d, dmin, scales[12] (6-bit scale and min of 8 sub-blocks), qs[128] */
        for (int64_t b = 0; b < n / 256; b++, in += 144) {
            uint16_t hd, hm;
            memcpy(&hd, in, 2);
            memcpy(&hm, in + 2, 2);
            const unsigned char *sc = in + 4, *q = in + 16;
            for (int s = 0; s < 8; s++) { /* sub-block s: 32 values */
                int scale, min;
                if (s < 4) {
                    scale = sc[s] & 63;
                    min = sc[s + 4] & 63;
                } else {
                    scale = (sc[s + 4] & 15) | ((sc[s - 4] >> 6) << 4);
                    min = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
                }
                const unsigned char *qq = q + 32 * (s / 2);
                for (int l = 0; l < 32; l++) {
                    const int v = s % 2 ? qq[l] >> 4 : qq[l] & 15;
                    *y++ = gw_f16_value(hd) * (float)scale * (float)v
                        - gw_f16_value(hm) * (float)min;
                }
            }
        }
        return;
    case GW_Q6_K: /* ql[128], qh[64], scales[16] (int8), d: value 16 i + l of each half */
        for (int64_t b = 0; b < n / 256; b++, in += 210) {
            uint16_t hd;
            memcpy(&hd, in + 208, 2);
            for (int i = 0; i < 256; i++) {
                const int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
                const unsigned char *ql = in + 64 * half, *qh = in + 128 + 32 * half;
                const int lo = quarter % 2 ? ql[l + 32] : ql[l];
                const int low4 = quarter < 2 ? lo & 15 : lo >> 4;
                const int high2 = (qh[l] >> (2 * quarter)) & 3;
                const int8_t scale = (int8_t)in[192 + 8 * half + l / 16 + 2 * quarter];
                y[i] = gw_f16_value(hd) * (float)scale * (float)((low4 | (high2 << 4)) - 32);
            }
            y += 256;
        }
        return;
    default: abort();
    }
}

/* ---- a model's metadata and tensors (needs jb_model.h included first) -------------------- */
#ifdef JB_MODEL_H

/* The metadata llama.cpp reads for config c under architecture arch, and (vocab true) a
 * minimal SentencePiece vocabulary of c->vocab_size tokens: <unk>, <s>, </s>, the 256 byte
 * tokens <0x00>..<0xFF>, then <tN>; bos 1, eos 2. */
static inline void gw_model_kv(
    struct gw *w, const struct jb_config *c, const char *arch, bool vocab)
{
    char k[96];
#define GW_KEY(suffix) (snprintf(k, sizeof k, "%s." suffix, arch), k)
    gw_kv_str(w, "general.architecture", arch);
    gw_kv_str(w, "general.name", c->name[0] ? c->name : "model");
    gw_kv_u32(w, GW_KEY("block_count"), (uint32_t)c->n_layers);
    gw_kv_u32(w, GW_KEY("context_length"), (uint32_t)c->max_position_embeddings);
    gw_kv_u32(w, GW_KEY("embedding_length"), (uint32_t)c->hidden_size);
    gw_kv_u32(w, GW_KEY("feed_forward_length"), (uint32_t)c->intermediate_size);
    gw_kv_u32(w, GW_KEY("attention.head_count"), (uint32_t)c->n_heads);
    gw_kv_u32(w, GW_KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    if (c->head_dim * c->n_heads != c->hidden_size) {
        gw_kv_u32(w, GW_KEY("attention.key_length"), (uint32_t)c->head_dim);
        gw_kv_u32(w, GW_KEY("attention.value_length"), (uint32_t)c->head_dim);
    }
    gw_kv_f32(w, GW_KEY("attention.layer_norm_rms_epsilon"), c->norm_eps);
    gw_kv_f32(w, GW_KEY("rope.freq_base"), (float)c->rope_theta);
    gw_kv_u32(w, GW_KEY("rope.dimension_count"), (uint32_t)c->head_dim);
#undef GW_KEY
    if (!vocab)
        return;
    const uint64_t n = (uint64_t)c->vocab_size;
    char **tok = calloc(n, sizeof *tok);
    float *scores = calloc(n, sizeof *scores);
    int32_t *types = calloc(n, sizeof *types);
    if (!tok || !scores || !types)
        abort();
    for (uint64_t i = 0; i < n; i++) {
        tok[i] = malloc(24);
        if (!tok[i])
            abort();
        if (i < 3) {
            snprintf(tok[i], 24, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
            types[i] = i == 0 ? 2 : 3; /* UNKNOWN, CONTROL */
        } else if (i < 259) {
            snprintf(tok[i], 24, "<0x%02X>", (unsigned)(i - 3));
            types[i] = 6; /* BYTE */
        } else {
            snprintf(tok[i], 24, "<t%llu>", (unsigned long long)i);
            types[i] = 1; /* NORMAL */
            scores[i] = -(float)i;
        }
    }
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_strs(w, "tokenizer.ggml.tokens", (const char *const *)tok, n);
    gw_kv_arr4(w, "tokenizer.ggml.scores", GWV_F32, scores, n);
    gw_kv_arr4(w, "tokenizer.ggml.token_type", GWV_I32, types, n);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gw_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    for (uint64_t i = 0; i < n; i++)
        free(tok[i]);
    free(tok);
    free(scores);
    free(types);
}

/* Declares the tensors of config c as llama.cpp names them, in its order: matrices of type
 * `type`, vectors F32; fused attn_qkv / ffn_up (gate then up) when c->fused_checkpoint (phi3);
 * biases as c says; output.weight unless tied. */
static inline void gw_model_tensors(struct gw *w, const struct jb_config *c, uint32_t type)
{
    const uint64_t d = (uint64_t)c->hidden_size, f = (uint64_t)c->intermediate_size;
    const uint64_t q = (uint64_t)(c->n_heads * c->head_dim),
                   kv = (uint64_t)(c->n_kv_heads * c->head_dim);
    char n[96];
#define GW_M(name, cols, rows) gw_tensor(w, name, type, 2, (const uint64_t[]) { cols, rows })
#define GW_V(name, len) gw_tensor(w, name, GW_F32, 1, (const uint64_t[]) { len })
#define GW_N(...) (snprintf(n, sizeof n, __VA_ARGS__), n)
    GW_M("token_embd.weight", d, (uint64_t)c->vocab_size);
    for (int64_t i = 0; i < c->n_layers; i++) {
        GW_V(GW_N("blk.%lld.attn_norm.weight", (long long)i), d);
        if (c->fused_checkpoint) {
            GW_M(GW_N("blk.%lld.attn_qkv.weight", (long long)i), d, q + 2 * kv);
        } else {
            GW_M(GW_N("blk.%lld.attn_q.weight", (long long)i), d, q);
            GW_M(GW_N("blk.%lld.attn_k.weight", (long long)i), d, kv);
            GW_M(GW_N("blk.%lld.attn_v.weight", (long long)i), d, kv);
            if (c->qkv_bias) {
                GW_V(GW_N("blk.%lld.attn_q.bias", (long long)i), q);
                GW_V(GW_N("blk.%lld.attn_k.bias", (long long)i), kv);
                GW_V(GW_N("blk.%lld.attn_v.bias", (long long)i), kv);
            }
        }
        GW_M(GW_N("blk.%lld.attn_output.weight", (long long)i), q, d);
        GW_V(GW_N("blk.%lld.ffn_norm.weight", (long long)i), d);
        if (c->fused_checkpoint) {
            GW_M(GW_N("blk.%lld.ffn_up.weight", (long long)i), d, 2 * f);
        } else {
            GW_M(GW_N("blk.%lld.ffn_gate.weight", (long long)i), d, f);
            GW_M(GW_N("blk.%lld.ffn_up.weight", (long long)i), d, f);
        }
        GW_M(GW_N("blk.%lld.ffn_down.weight", (long long)i), f, d);
    }
    GW_V("output_norm.weight", d);
    if (!c->tie_word_embeddings)
        GW_M("output.weight", d, (uint64_t)c->vocab_size);
#undef GW_M
#undef GW_V
#undef GW_N
}

#endif

#endif /* GGUF_WRITER_H */
