/*
 * test_gguf.c — GGUF files load correctly. Writes small models as GGUF v3 files with the
 * writer in gguf_writer.h (llama's attn_q / attn_k rows permuted as llama.cpp's converter
 * permutes them), loads them with jb_gguf_config + jb_model_init and compares the logits of
 * every position with a naive double-precision forward pass over the weights the file holds;
 * tensors of the model's own type must be copied byte for byte. Then malformed files, each
 * refused with one line naming the file and the fault, and `joulebench generate` on a GGUF
 * file against the same weights as a safetensors folder: the same greedy tokens.
 */
#include "jb_test.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jb_model.h"

#include "gguf_writer.h"

#define N_TOK 8
#define VOCAB 300 /* the minimal vocabulary needs 259 tokens */
#define MAX_TENSORS 64

/* jb (f32 storage) against the reference: max |logit error| / max |logit| (float32 against
 * double measures ~1e-7..1e-6; a wrong row order or formula lands orders above). */
#define TOL_F32 1e-4
/* Relative RMS logit error when the matrices stay quantised (q8_0, q4_0, q4_k): the weights
 * are the file's exactly, the error is the engine's 8-bit quantisation of the activations
 * (~2% measured for q8_0 in test_safetensors). */
#define TOL_QUANT_RMS 0.05

static char g_root[4096];
static const char *g_joulebench;
static const int32_t prompt[N_TOK] = { 1, 17, 42, 299, 5, 263, 28, 7 };

/* ---- the model under test, held in the test's own arrays (Hugging Face layout) ------------ */

struct spec {
    const char *label;
    const char *arch; /* llama, qwen2, gemma, phi3 */
    int64_t d, f, heads, kv_heads, head_dim;
    bool tied, rope_freqs;
    uint32_t type; /* of the matrices */
    uint64_t seed;
};

struct tensor {
    char name[96]; /* llama.cpp's */
    float *data;   /* (rows, cols) in Hugging Face row order, as the file holds them */
    int64_t rows, cols;
    bool permuted; /* llama attn_q / attn_k (and biases): ggml row order in the file */
    int64_t head_dim;
};

struct fixture {
    struct spec sp;
    struct jb_config c;
    struct tensor t[MAX_TENSORS];
    int n;
    float *rope_factors; /* (head_dim / 2) or NULL */
    char path[4400];
    struct gw rec; /* the writer's record of the file: where each tensor's bytes are */
};

static struct tensor *find(struct fixture *fx, const char *name)
{
    for (int i = 0; i < fx->n; i++)
        if (strcmp(fx->t[i].name, name) == 0)
            return &fx->t[i];
    return NULL;
}

static float *W(struct fixture *fx, const char *fmt, long long i)
{
    char name[96];
    snprintf(name, sizeof name, fmt, i);
    struct tensor *t = find(fx, name);
    return t ? t->data : NULL;
}

/* The Hugging Face row a ggml-permuted row g holds: convert_hf_to_gguf.py's permute reshapes
 * each head's rows (2, hd/2) and swaps the axes, so ggml row 2i + j is HF row j hd/2 + i. */
static int64_t hf_row(int64_t g, int64_t hd)
{
    const int64_t h = g / hd, w = g % hd;
    return h * hd + (w % 2) * (hd / 2) + w / 2;
}

static void add(
    struct fixture *fx, const char *name, int64_t rows, int64_t cols, float amp, float base)
{
    assert_true(fx->n < MAX_TENSORS);
    struct tensor *t = &fx->t[fx->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->data = calloc((size_t)(rows * (cols ? cols : 1)), sizeof(float));
    assert_non_null(t->data);
    jb_test_fill(t->data, rows * (cols ? cols : 1), fx->sp.seed * 131 + (uint64_t)fx->n, amp);
    for (int64_t i = 0; i < rows * (cols ? cols : 1); i++)
        t->data[i] += base;
    t->permuted = strcmp(fx->sp.arch, "llama") == 0
        && (strstr(name, ".attn_q.") || strstr(name, ".attn_k."));
    t->head_dim = fx->c.head_dim;
}

/* The config of sp, as a config.json would give it (so that the safetensors twin matches). */
static void make_config(const struct spec *sp, struct jb_config *c)
{
    char json[1024];
    struct jb_err err;
    snprintf(json, sizeof json,
        "{\"model_type\": \"%s\", \"hidden_size\": %lld, \"intermediate_size\": %lld,"
        " \"num_hidden_layers\": 2, \"num_attention_heads\": %lld, \"num_key_value_heads\": %lld,"
        " \"head_dim\": %lld, \"vocab_size\": %d, \"max_position_embeddings\": 64,"
        " \"rope_theta\": 10000.0, \"rms_norm_eps\": 1e-05, \"tie_word_embeddings\": %s}",
        sp->arch, (long long)sp->d, (long long)sp->f, (long long)sp->heads, (long long)sp->kv_heads,
        (long long)sp->head_dim, VOCAB, sp->tied ? "true" : "false");
    if (jb_config_parse(json, strlen(json), "config.json", c, &err))
        fail_msg("%s: %s", sp->label, err.msg);
    snprintf(c->name, sizeof c->name, "%s", sp->label);
}

static void fixture_init(struct fixture *fx, const struct spec *sp)
{
    memset(fx, 0, sizeof *fx);
    fx->sp = *sp;
    make_config(sp, &fx->c);
    const struct jb_config *c = &fx->c;
    const int64_t d = c->hidden_size, f = c->intermediate_size, q = c->n_heads * c->head_dim;
    const int64_t kv = c->n_kv_heads * c->head_dim;
    const float a_d = sqrtf(3.0f / (float)d);
    const bool phi3 = c->fused_checkpoint;
    char n[96];
#define N(...) (snprintf(n, sizeof n, __VA_ARGS__), n)
    add(fx, "token_embd.weight", VOCAB, d, a_d, 0.0f);
    for (int i = 0; i < 2; i++) {
        add(fx, N("blk.%d.attn_norm.weight", i), d, 0, 0.2f, 1.0f);
        if (phi3) {
            add(fx, N("blk.%d.attn_qkv.weight", i), q + 2 * kv, d, a_d, 0.0f);
        } else {
            add(fx, N("blk.%d.attn_q.weight", i), q, d, a_d, 0.0f);
            add(fx, N("blk.%d.attn_k.weight", i), kv, d, a_d, 0.0f);
            add(fx, N("blk.%d.attn_v.weight", i), kv, d, a_d, 0.0f);
        }
        if (c->qkv_bias) {
            add(fx, N("blk.%d.attn_q.bias", i), q, 0, 0.5f, 0.0f);
            add(fx, N("blk.%d.attn_k.bias", i), kv, 0, 0.5f, 0.0f);
            add(fx, N("blk.%d.attn_v.bias", i), kv, 0, 0.5f, 0.0f);
        }
        add(fx, N("blk.%d.attn_output.weight", i), d, q, sqrtf(3.0f / (float)q), 0.0f);
        add(fx, N("blk.%d.ffn_norm.weight", i), d, 0, 0.2f, 1.0f);
        if (phi3) {
            add(fx, N("blk.%d.ffn_up.weight", i), 2 * f, d, a_d, 0.0f);
        } else {
            add(fx, N("blk.%d.ffn_gate.weight", i), f, d, a_d, 0.0f);
            add(fx, N("blk.%d.ffn_up.weight", i), f, d, a_d, 0.0f);
        }
        add(fx, N("blk.%d.ffn_down.weight", i), d, f, sqrtf(3.0f / (float)f), 0.0f);
    }
    add(fx, "output_norm.weight", d, 0, 0.2f, 1.0f);
    if (!c->tie_word_embeddings)
        add(fx, "output.weight", VOCAB, d, a_d, 0.0f);
#undef N
    if (sp->rope_freqs) { /* factors from 1 to 8, as Llama 3.1's scaling makes them */
        fx->rope_factors = calloc((size_t)c->head_dim / 2, sizeof(float));
        for (int64_t i = 0; i < c->head_dim / 2; i++)
            fx->rope_factors[i] = 1.0f + 7.0f * (float)i / (float)(c->head_dim / 2);
    }
}

static void fixture_free(struct fixture *fx)
{
    for (int i = 0; i < fx->n; i++)
        free(fx->t[i].data);
    free(fx->rope_factors);
}

/* ---- writing the file -------------------------------------------------------------------- */

/* Random K-quant blocks (the test does not quantise to Q4_K / Q6_K; the reference is their
 * dequantisation) of typical magnitude amp. */
static void random_k_blocks(uint32_t type, unsigned char *out, int64_t n, float amp, uint64_t *s)
{
    const size_t bytes = type == GW_Q4_K ? 144 : 210;
    for (int64_t b = 0; b < n / 256; b++, out += bytes) {
        for (size_t i = 0; i < bytes; i++)
            out[i] = (unsigned char)(jb_rng_next(s) >> 56);
        if (type == GW_Q4_K) {
            const uint16_t d = gw_f16_bits(amp / 256.0f), dmin = gw_f16_bits(amp / 32.0f);
            memcpy(out, &d, 2);
            memcpy(out + 2, &dmin, 2);
        } else { /* positive scales of one magnitude, as llama.cpp's quantiser makes them */
            const uint16_t d = gw_f16_bits(amp / 768.0f);
            memcpy(out + 208, &d, 2);
            for (int i = 0; i < 16; i++)
                out[192 + i] = (unsigned char)(32 + out[192 + i] % 32);
        }
    }
}

/* Ways to spoil a file. */
struct fault {
    const char *drop_key;   /* a metadata key left out */
    const char *arch;       /* general.architecture written instead */
    const char *drop;       /* a tensor left out */
    const char *extra;      /* an added F32 vector of this name */
    const char *twice;      /* a tensor declared twice */
    const char *reshape;    /* a matrix written with its two dimensions swapped */
    const char *wrong_type; /* a tensor declared Q5_K (13) with its F32 bytes */
    const char *key_twice;  /* a metadata key written twice */
    uint32_t version;       /* written instead of 3 */
    uint64_t alignment;     /* general.alignment written (0: none, the default 32) */
    bool zero_rope_factor;  /* rope_freqs.weight's first factor 0 */
};

/* The bytes of tensor t in the file's type (permuted rows for llama's attn_q / attn_k); the
 * reference array is then set to exactly what the file holds. */
static unsigned char *encode_tensor(
    struct fixture *fx, struct tensor *t, uint32_t type, size_t *bytes, uint64_t *s)
{
    const int64_t cols = t->cols ? t->cols : t->rows, rows = t->cols ? t->rows : 1;
    const size_t rb = gw_row_bytes(type, (uint64_t)cols);
    unsigned char *out = calloc((size_t)rows, rb);
    float *g = calloc((size_t)(rows * cols), sizeof *g);
    assert_true(out && g);
    /* a vector's permutation runs over its single "row" of values */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            const int64_t from = !t->permuted ? r * cols + j
                : t->cols                     ? hf_row(r, t->head_dim) * cols + j
                                              : hf_row(j, t->head_dim);
            g[r * cols + j] = t->data[from];
        }
    for (int64_t r = 0; r < rows; r++) {
        unsigned char *o = out + (size_t)r * rb;
        const float *x = g + r * cols;
        switch (type) {
        case GW_F32: memcpy(o, x, (size_t)cols * 4); break;
        case GW_F16:
        case GW_BF16:
            for (int64_t j = 0; j < cols; j++) {
                const uint16_t h = type == GW_F16 ? gw_f16_bits(x[j]) : gw_bf16_bits(x[j]);
                memcpy(o + 2 * j, &h, 2);
            }
            break;
        case GW_Q8_0: gw_quantize_q8_0(x, o, cols); break;
        case GW_Q4_0: gw_quantize_q4_0(x, o, cols); break;
        default: random_k_blocks(type, o, cols, sqrtf(3.0f / (float)cols), s);
        }
        gw_dequant(type, o, g + r * cols, cols);
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            const int64_t to = !t->permuted ? r * cols + j
                : t->cols                   ? hf_row(r, t->head_dim) * cols + j
                                            : hf_row(j, t->head_dim);
            t->data[to] = g[r * cols + j];
        }
    (void)fx;
    free(g);
    *bytes = (size_t)rows * rb;
    return out;
}

static bool is(const char *name, const char *want)
{
    return want && strcmp(name, want) == 0;
}

/* Writes fx as fx->path (spoilt by fl, may be NULL); returns the writer's record of it. */
static void write_gguf(struct fixture *fx, const struct fault *fl, struct gw *rec)
{
    static const struct fault none = { 0 };
    fl = fl ? fl : &none;
    struct gw w = { 0 };
    char k[96];
    const struct jb_config *c = &fx->c;
    if (fl->alignment) {
        w.alignment = (uint32_t)fl->alignment;
        gw_kv_u32(&w, "general.alignment", (uint32_t)fl->alignment);
    }
    if (fl->key_twice)
        gw_kv_u32(&w, fl->key_twice, 7);
    /* the metadata, less a dropped key: written into a scratch writer, copied pair by pair */
    struct gw m = { 0 };
    gw_model_kv(&m, c, fl->arch ? fl->arch : fx->sp.arch, true);
    size_t at = 0;
    for (uint64_t i = 0; i < m.n_kv; i++) {
        uint64_t klen, start = at;
        memcpy(&klen, m.kv.p + at, 8);
        snprintf(k, sizeof k, "%.*s", (int)klen, (const char *)m.kv.p + at + 8);
        at += 8 + klen;
        uint32_t type;
        memcpy(&type, m.kv.p + at, 4);
        at += 4;
        if (type == GWV_STRING) {
            uint64_t n;
            memcpy(&n, m.kv.p + at, 8);
            at += 8 + n;
        } else if (type == GWV_ARRAY) {
            uint32_t et;
            uint64_t n;
            memcpy(&et, m.kv.p + at, 4);
            memcpy(&n, m.kv.p + at + 4, 8);
            at += 12;
            for (uint64_t e = 0; e < n; e++) {
                uint64_t sl = 4;
                if (et == GWV_STRING) {
                    memcpy(&sl, m.kv.p + at, 8);
                    sl += 8;
                }
                at += sl;
            }
        } else {
            at += 4;
        }
        if (is(k, fl->drop_key))
            continue;
        gw_put(&w.kv, m.kv.p + start, at - start);
        w.n_kv++;
    }
    free(m.kv.p);
    free(m.info.p);
    if (fl->arch && strcmp(fl->arch, "mamba") == 0)
        (void)0; /* written as given: refused by name */

    /* the tensors, declared in the fixture's order, then written */
    uint64_t s = fx->sp.seed;
    unsigned char *bytes[MAX_TENSORS + 2];
    int order[MAX_TENSORS + 2], n = 0;
    for (int i = 0; i < fx->n; i++) {
        struct tensor *t = &fx->t[i];
        if (is(t->name, fl->drop))
            continue;
        const uint32_t type = t->cols ? fx->sp.type : GW_F32;
        size_t nb;
        bytes[n] = encode_tensor(fx, t, type, &nb, &s);
        uint64_t ne[2] = { (uint64_t)(t->cols ? t->cols : t->rows), (uint64_t)t->rows };
        if (is(t->name, fl->reshape)) {
            ne[0] = (uint64_t)t->rows;
            ne[1] = (uint64_t)t->cols;
        }
        const uint32_t decl = is(t->name, fl->wrong_type) ? 13 : type;
        order[n] = gw_tensor(&w, t->name, decl, t->cols ? 2 : 1, ne);
        if (decl == 13) /* sized by the writer as F32; keep the real byte count */
            w.t[order[n]].bytes = nb, w.data_bytes = w.t[order[n]].offset + nb;
        n++;
        if (is(t->name, fl->twice)) {
            bytes[n] = malloc(nb);
            memcpy(bytes[n], bytes[n - 1], nb);
            order[n] = gw_tensor(&w, t->name, type, t->cols ? 2 : 1, ne);
            n++;
        }
    }
    if (fx->rope_factors) {
        const uint64_t half = (uint64_t)c->head_dim / 2;
        bytes[n] = malloc(half * 4);
        memcpy(bytes[n], fx->rope_factors, half * 4);
        if (fl->zero_rope_factor)
            memset(bytes[n], 0, 4);
        order[n++] = gw_tensor(&w, "rope_freqs.weight", GW_F32, 1, &half);
    }
    if (fl->extra) {
        const uint64_t len = 4;
        bytes[n] = calloc(4, 4);
        order[n++] = gw_tensor(&w, fl->extra, GW_F32, 1, &len);
    }
    gw_begin(&w, fx->path);
    if (fl->version) { /* patched in the header just written */
        fseek(w.out, 4, SEEK_SET);
        fwrite(&fl->version, 4, 1, w.out);
        fseek(w.out, 0, SEEK_END);
    }
    for (int i = 0; i < n; i++) {
        (void)order[i];
        gw_write_tensor(&w, bytes[i]);
        free(bytes[i]);
    }
    if (rec) { /* the positions the byte-level faults patch */
        *rec = w;
        rec->kv.p = rec->info.p = NULL;
    }
    gw_end(&w);
}

/* ---- the reference: transformers' Llama (and its Qwen2 / Gemma / Phi-3 kin) --------------- */

struct ref {
    const struct fixture *fx;
    double *inv_freq;
};

static void rmsnorm(const struct fixture *fx, double *out, const double *x, const float *w)
{
    const int64_t d = fx->c.hidden_size;
    double ss = 0.0;
    for (int64_t i = 0; i < d; i++)
        ss += x[i] * x[i];
    const double inv = 1.0 / sqrt(ss / (double)d + (double)fx->c.norm_eps);
    for (int64_t i = 0; i < d; i++)
        out[i] = x[i] * inv * (double)w[i]; /* Gemma's file holds 1 + w already */
}

static void linear(
    double *y, const float *Wm, const float *b, const double *x, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        double acc = b ? (double)b[r] : 0.0;
        for (int64_t j = 0; j < cols; j++)
            acc += (double)Wm[r * cols + j] * x[j];
        y[r] = acc;
    }
}

/* Logits (n, vocab) at every position of tok[0..n). Reads better whole. */
static void ref_forward(struct fixture *fx, const int32_t *tok, int64_t n, double *logits)
{
    const struct jb_config *c = &fx->c;
    const int64_t d = c->hidden_size, f = c->intermediate_size, hd = c->head_dim;
    const int64_t q = c->n_heads * hd, kv = c->n_kv_heads * hd, ld = q + 2 * kv;
    const bool gemma = c->act == JB_ACT_GELU_TANH, phi3 = c->fused_checkpoint;
    double *x = calloc((size_t)(n * d), sizeof *x), *xn = calloc((size_t)d, sizeof *xn);
    double *qkv = calloc((size_t)(n * ld), sizeof *qkv), *att = calloc((size_t)q, sizeof *att);
    double *gu = calloc((size_t)(2 * f), sizeof *gu), *o = calloc((size_t)d, sizeof *o);
    double inv_freq[256], p[N_TOK];
    for (int64_t i = 0; i < hd / 2; i++)
        inv_freq[i] = pow(c->rope_theta, -(double)(2 * i) / (double)hd)
            / (fx->rope_factors ? (double)fx->rope_factors[i] : 1.0);
    const float *emb = W(fx, "token_embd.weight", 0);
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < d; i++)
            x[t * d + i] = (double)emb[tok[t] * d + i] * (gemma ? sqrt((double)d) : 1.0);
    for (long long l = 0; l < 2; l++) {
        for (int64_t t = 0; t < n; t++) {
            rmsnorm(fx, xn, x + t * d, W(fx, "blk.%lld.attn_norm.weight", l));
            double *r = qkv + t * ld;
            if (phi3) {
                linear(r, W(fx, "blk.%lld.attn_qkv.weight", l), NULL, xn, ld, d);
            } else {
                linear(r, W(fx, "blk.%lld.attn_q.weight", l), W(fx, "blk.%lld.attn_q.bias", l), xn,
                    q, d);
                linear(r + q, W(fx, "blk.%lld.attn_k.weight", l), W(fx, "blk.%lld.attn_k.bias", l),
                    xn, kv, d);
                linear(r + q + kv, W(fx, "blk.%lld.attn_v.weight", l),
                    W(fx, "blk.%lld.attn_v.bias", l), xn, kv, d);
            }
            for (int64_t h = 0; h < c->n_heads + c->n_kv_heads; h++) /* rotate_half RoPE */
                for (int64_t i = 0; i < hd / 2; i++) {
                    double *v = r + h * hd;
                    const double cs = cos((double)t * inv_freq[i]),
                                 sn = sin((double)t * inv_freq[i]);
                    const double a = v[i], b = v[i + hd / 2];
                    v[i] = a * cs - b * sn;
                    v[i + hd / 2] = b * cs + a * sn;
                }
        }
        for (int64_t t = 0; t < n; t++) {
            const int64_t group = c->n_heads / c->n_kv_heads;
            for (int64_t h = 0; h < c->n_heads; h++) {
                const double *qh = qkv + t * ld + h * hd;
                const int64_t ko = q + (h / group) * hd, vo = q + kv + (h / group) * hd;
                double mx = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j <= t; j++) {
                    double dot = 0.0;
                    for (int64_t i = 0; i < hd; i++)
                        dot += qh[i] * qkv[j * ld + ko + i];
                    p[j] = dot / sqrt((double)hd);
                    mx = fmax(mx, p[j]);
                }
                for (int64_t j = 0; j <= t; j++)
                    sum += (p[j] = exp(p[j] - mx));
                for (int64_t i = 0; i < hd; i++) {
                    double acc = 0.0;
                    for (int64_t j = 0; j <= t; j++)
                        acc += p[j] * qkv[j * ld + vo + i];
                    att[h * hd + i] = acc / sum;
                }
            }
            linear(o, W(fx, "blk.%lld.attn_output.weight", l), NULL, att, d, q);
            for (int64_t i = 0; i < d; i++)
                x[t * d + i] += o[i];
            rmsnorm(fx, xn, x + t * d, W(fx, "blk.%lld.ffn_norm.weight", l));
            if (phi3) {
                linear(gu, W(fx, "blk.%lld.ffn_up.weight", l), NULL, xn, 2 * f, d);
            } else {
                linear(gu, W(fx, "blk.%lld.ffn_gate.weight", l), NULL, xn, f, d);
                linear(gu + f, W(fx, "blk.%lld.ffn_up.weight", l), NULL, xn, f, d);
            }
            for (int64_t i = 0; i < f; i++) {
                const double g = gu[i];
                const double a = gemma
                    ? 0.5 * g * (1.0 + tanh(sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g)))
                    : g / (1.0 + exp(-g));
                gu[i] = a * gu[f + i];
            }
            linear(o, W(fx, "blk.%lld.ffn_down.weight", l), NULL, gu, d, f);
            for (int64_t i = 0; i < d; i++)
                x[t * d + i] += o[i];
        }
    }
    const float *head = c->tie_word_embeddings ? emb : W(fx, "output.weight", 0);
    for (int64_t t = 0; t < n; t++) {
        rmsnorm(fx, xn, x + t * d, W(fx, "output_norm.weight", 0));
        linear(logits + t * VOCAB, head, NULL, xn, VOCAB, d);
    }
    free(x);
    free(xn);
    free(qkv);
    free(att);
    free(gu);
    free(o);
}

/* ---- jb on the file ---------------------------------------------------------------------- */

/* Loads fx->path in dtype t and returns the logits of every position (decode, one token at a
 * time) and, separately, the last one of a single prefill. */
static void jb_logits(
    struct fixture *fx, enum jb_dtype t, float *logits, float *prefill, struct jb_model *m_out)
{
    struct jb_config c;
    struct jb_err err;
    struct jb_model m;
    struct jb_state s;
    enum jb_dtype own;
    if (jb_gguf_config(fx->path, &c, &own, &err))
        fail_msg("%s: jb_gguf_config: %s", fx->sp.label, err.msg);
    const struct jb_model_opts o = { .dtype = t, .seed = 1 };
    if (jb_model_init(&m, &c, fx->path, &o, &err) || jb_state_init(&s, &m, 1, 64, N_TOK, &err))
        fail_msg("%s: loading in %s: %s", fx->sp.label, jb_dtype_name(t), err.msg);
    assert_string_equal(m.weights_source, fx->path);
    const int64_t seq = 0;
    for (int64_t i = 0; i < N_TOK; i++)
        if (jb_decode(&m, &s, &seq, &prompt[i], 1, logits + i * VOCAB, &err))
            fail_msg("%s: decode: %s", fx->sp.label, err.msg);
    jb_state_reset(&s, 0);
    if (jb_prefill(&m, &s, 0, prompt, N_TOK, prefill, &err))
        fail_msg("%s: prefill: %s", fx->sp.label, err.msg);
    jb_state_free(&s);
    if (m_out)
        *m_out = m;
    else
        jb_model_free(&m);
}

/* max |a - b| / max |b| and the relative RMS error over n values. */
static void errors(const float *a, const double *b, int64_t n, double *max_rel, double *rms_rel)
{
    double mx = 0.0, scale = 0.0, se = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
        se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        ss += b[i] * b[i];
    }
    *max_rel = mx / scale;
    *rms_rel = sqrt(se / ss);
}

static void check_against_ref(struct fixture *fx, enum jb_dtype t, bool lossy)
{
    double *want = calloc((size_t)(N_TOK * VOCAB), sizeof *want);
    float *got = calloc((size_t)(N_TOK * VOCAB), sizeof *got), *pre = calloc(VOCAB, sizeof *pre);
    double max_rel, rms_rel, pmax, prms;
    ref_forward(fx, prompt, N_TOK, want);
    jb_logits(fx, t, got, pre, NULL);
    errors(got, want, N_TOK * VOCAB, &max_rel, &rms_rel);
    errors(pre, want + (N_TOK - 1) * VOCAB, VOCAB, &pmax, &prms);
    printf("  %-22s as %-4s: logits max rel error %.3g, rms %.3g (prefill %.3g, %.3g)\n",
        fx->sp.label, jb_dtype_name(t), max_rel, rms_rel, pmax, prms);
    if (lossy) {
        ASSERT_LE(rms_rel, TOL_QUANT_RMS);
        ASSERT_LE(prms, TOL_QUANT_RMS);
    } else {
        ASSERT_LE(max_rel, TOL_F32);
        ASSERT_LE(pmax, TOL_F32);
    }
    free(want);
    free(got);
    free(pre);
}

static void setup_fixture(struct fixture *fx, const struct spec *sp)
{
    fixture_init(fx, sp);
    snprintf(fx->path, sizeof fx->path, "%s/%s.gguf", g_root, sp->label);
    write_gguf(fx, NULL, &fx->rec);
}

/* ---- cases: every architecture and tensor type against the reference ---------------------- */

static const struct spec arch_cases[] = {
    { "llama_f32_gqa", "llama", 64, 96, 4, 2, 16, false, false, GW_F32, 1 },
    { "llama_f32_rope_freqs", "llama", 64, 96, 4, 1, 18, true, true, GW_F32, 2 },
    { "qwen2_f32_bias_tied", "qwen2", 64, 96, 4, 2, 16, true, false, GW_F32, 3 },
    { "gemma_f32_head256ish", "gemma", 64, 96, 2, 1, 48, true, false, GW_F32, 4 },
    { "phi3_f32_fused", "phi3", 64, 96, 4, 4, 16, false, false, GW_F32, 5 },
    { "llama_f16", "llama", 64, 96, 4, 2, 16, false, false, GW_F16, 6 },
    { "llama_bf16", "llama", 64, 96, 4, 2, 16, false, false, GW_BF16, 7 },
    { "llama_q8_0", "llama", 64, 96, 4, 2, 16, false, false, GW_Q8_0, 8 },
    { "llama_q4_0", "llama", 64, 96, 4, 2, 16, false, false, GW_Q4_0, 9 },
    { "llama_q4_k", "llama", 256, 256, 4, 2, 64, false, false, GW_Q4_K, 10 },
    { "llama_q6_k", "llama", 256, 256, 4, 2, 64, false, false, GW_Q6_K, 11 },
};

/* Every case as f32: exact dequantisation, row order, architecture conventions. */
static void test_f32_against_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof arch_cases / sizeof arch_cases[0]; i++) {
        struct fixture fx;
        setup_fixture(&fx, &arch_cases[i]);
        check_against_ref(&fx, JB_DTYPE_F32, false);
        fixture_free(&fx);
    }
}

/* The type each file runs in by default, and a file of the model's own type copied byte for
 * byte (then the logits within the activation quantisation's error). */
static void test_own_type_copied(void **state)
{
    (void)state;
    static const struct {
        size_t spec;
        enum jb_dtype own;
        bool lossy;
    } own[] = {
        { 0, JB_DTYPE_F32, false }, { 5, JB_DTYPE_F32, false }, /* F16: widened exactly */
        { 6, JB_DTYPE_BF16, true }, { 7, JB_DTYPE_Q8_0, true }, { 8, JB_DTYPE_Q4_0, true },
        { 9, JB_DTYPE_Q4_K, true },
        { 10, JB_DTYPE_Q8_0, true }, /* Q6_K: the nearest the engine has */
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        struct fixture fx;
        struct jb_config c;
        struct jb_err err;
        enum jb_dtype t;
        setup_fixture(&fx, &arch_cases[own[i].spec]);
        assert_int_equal(jb_gguf_config(fx.path, &c, &t, &err), 0);
        if (t != own[i].own)
            fail_msg("%s: default dtype %s, expected %s", fx.sp.label, jb_dtype_name(t),
                jb_dtype_name(own[i].own));
        if (fx.sp.type != GW_F32 && fx.sp.type != GW_F16 && fx.sp.type != GW_Q6_K) {
            /* attn_output of layer 1: the file's bytes, and the engine's wo of layer 1 */
            struct jb_model m;
            const struct jb_model_opts o = { .dtype = t, .seed = 1 };
            assert_int_equal(jb_model_init(&m, &c, fx.path, &o, &err), 0);
            const struct gw *rec = &fx.rec;
            FILE *f = fopen(fx.path, "rb");
            assert_non_null(f);
            int k = 0;
            while (strcmp(rec->t[k].name, "blk.1.attn_output.weight") != 0)
                k++;
            unsigned char *want = malloc(rec->t[k].bytes);
            fseek(f, (long)(gw_header_bytes(rec) + rec->t[k].offset), SEEK_SET);
            assert_int_equal(fread(want, 1, rec->t[k].bytes, f), rec->t[k].bytes);
            fclose(f);
            assert_int_equal(
                jb_dtype_row_bytes(t, m.layers[1].wo.cols) * (size_t)m.layers[1].wo.rows,
                rec->t[k].bytes);
            if (memcmp(m.layers[1].wo.data, want, rec->t[k].bytes) != 0)
                fail_msg("%s: blk.1.attn_output.weight is not the file's bytes in %s", fx.sp.label,
                    jb_dtype_name(t));
            free(want);
            jb_model_free(&m);
        }
        check_against_ref(&fx, t, own[i].lossy);
        fixture_free(&fx);
    }
}

/* An F32 file converted to each storage type (--dtype): close to the f32 reference. */
static void test_dtype_converts(void **state)
{
    (void)state;
    struct fixture fx;
    setup_fixture(&fx, &arch_cases[0]);
    check_against_ref(&fx, JB_DTYPE_BF16, true);
    check_against_ref(&fx, JB_DTYPE_Q8_0, true);
    fixture_free(&fx);
}

/* ---- malformed files ----------------------------------------------------------------------- */

enum patch {
    P_NONE,
    P_MAGIC,
    P_N_TENSORS,
    P_N_KV,
    P_KEY_LEN,    /* the first key's string length */
    P_ARRAY_LEN,  /* tokenizer.ggml.tokens' count */
    P_OFFSET_END, /* the last tensor's offset past the end */
    P_OFFSET_MIS, /* the first tensor's offset + 4 */
    P_TYPE,       /* the first tensor's type id 99 */
    P_CUT_HEADER, /* the file cut after 20 bytes */
    P_CUT_KV,     /* cut in the middle of the metadata */
    P_CUT_INFO,   /* cut in the middle of the tensor infos */
    P_CUT_DATA,   /* the last 10 bytes of data missing */
};

struct bad_case {
    const char *label;
    struct fault fl;
    enum patch patch;
    const char *want; /* in the message, after "PATH: " */
};

static const struct bad_case bad_cases[] = {
    { "magic", { 0 }, P_MAGIC, "not a GGUF file" },
    { "version1", { .version = 1 }, P_NONE, "GGUF version 1 is not supported" },
    { "version4", { .version = 4 }, P_NONE, "GGUF version 4 is not supported" },
    { "cut_header", { 0 }, P_CUT_HEADER, "shorter than a GGUF header" },
    { "cut_metadata", { 0 }, P_CUT_KV, "truncated" },
    { "cut_infos", { 0 }, P_CUT_INFO, "truncated" },
    { "cut_data", { 0 }, P_CUT_DATA, "run past the end of the file" },
    { "n_tensors", { 0 }, P_N_TENSORS, "claims 1099511627776 tensors" },
    { "n_kv", { 0 }, P_N_KV, "claims 1099511627776 metadata pairs" },
    { "key_length", { 0 }, P_KEY_LEN, "string length 1152921504606846976 runs past the end" },
    { "array_length", { 0 }, P_ARRAY_LEN, "array length" },
    { "offset_past_end", { 0 }, P_OFFSET_END, "run past the end of the file" },
    { "misaligned", { 0 }, P_OFFSET_MIS, "is not a multiple of the alignment (32)" },
    { "unknown_type", { 0 }, P_TYPE, "unknown ggml type 99" },
    { "unsupported_type", { .wrong_type = "blk.0.ffn_up.weight" }, P_NONE,
        "tensor \"blk.0.ffn_up.weight\": type Q5_K is not supported" },
    { "shape", { .reshape = "blk.1.ffn_down.weight" }, P_NONE,
        "tensor \"blk.1.ffn_down.weight\": shape [64, 96] (ggml order), the metadata implies "
        "[96, 64]" },
    { "missing_key", { .drop_key = "llama.block_count" }, P_NONE,
        "missing metadata key \"llama.block_count\"" },
    { "missing_tensor", { .drop = "blk.0.attn_k.weight" }, P_NONE,
        "tensor \"blk.0.attn_k.weight\" not found" },
    { "extra_tensor", { .extra = "blk.0.mystery.weight" }, P_NONE,
        "tensor \"blk.0.mystery.weight\" is not part of a llama model" },
    { "duplicate_tensor", { .twice = "blk.0.ffn_norm.weight" }, P_NONE,
        "tensor \"blk.0.ffn_norm.weight\" appears twice" },
    { "duplicate_key", { .key_twice = "llama.block_count" }, P_NONE,
        "metadata key \"llama.block_count\" appears twice" },
    { "architecture", { .arch = "mamba" }, P_NONE, "architecture \"mamba\" is not supported" },
    { "alignment", { .alignment = 24 }, P_NONE, "24 is not a power of two" },
    { "rope_factor", { .zero_rope_factor = true }, P_NONE,
        "tensor \"rope_freqs.weight\": factor 0 is 0 (expected a positive number)" },
};

static void patch_file(const char *path, const struct gw *rec, enum patch p)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    const uint64_t big = 1ull << 40, huge = 1ull << 60, ninety_nine = 99;
    size_t at = 0;
    const void *v = NULL;
    size_t n = 0;
    off_t cut = -1;
    int last = rec->n_tensors - 1;
    uint64_t off;
    switch (p) {
    case P_MAGIC: at = 0, v = "GGUX", n = 4; break;
    case P_N_TENSORS: at = 8, v = &big, n = 8; break;
    case P_N_KV: at = 16, v = &big, n = 8; break;
    case P_KEY_LEN: at = 24, v = &huge, n = 8; break;
    case P_ARRAY_LEN: {
        /* find "tokenizer.ggml.tokens" in the file: its count follows the key and the types */
        char *buf = malloc((size_t)st.st_size);
        assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        const char *key = "tokenizer.ggml.tokens";
        size_t hit = 0;
        while (hit + strlen(key) <= (size_t)st.st_size && memcmp(buf + hit, key, strlen(key)))
            hit++;
        assert_true(hit + strlen(key) <= (size_t)st.st_size);
        at = hit + strlen(key) + 4 + 4;
        free(buf);
        v = &huge, n = 8;
        break;
    }
    case P_OFFSET_END:
        at = gw_type_pos(rec, last) + 4, off = (uint64_t)st.st_size, v = &off, n = 8;
        break;
    case P_OFFSET_MIS:
        at = gw_type_pos(rec, 0) + 4, off = rec->t[0].offset + 4, v = &off, n = 8;
        break;
    case P_TYPE: at = gw_type_pos(rec, 0), v = &ninety_nine, n = 4; break;
    case P_CUT_HEADER: cut = 20; break;
    case P_CUT_KV: cut = (off_t)(24 + rec->kv.len / 2); break;
    case P_CUT_INFO: cut = (off_t)(gw_info_pos(rec, rec->n_tensors / 2) + 5); break;
    case P_CUT_DATA: cut = st.st_size - 10; break;
    default: break;
    }
    if (v) {
        fseek(f, (long)at, SEEK_SET);
        assert_int_equal(fwrite(v, 1, n, f), n);
    }
    fclose(f);
    if (cut >= 0)
        assert_int_equal(truncate(path, cut), 0);
}

/* Runs `joulebench generate` on path; returns its exit status, stderr in err_out. */
static int run_cli(
    const char *path, const char *extra, char *out, size_t out_len, char *err_out, size_t err_len)
{
    char cmd[9000], errf[4400];
    snprintf(errf, sizeof errf, "%s/stderr.txt", g_root);
    snprintf(cmd, sizeof cmd,
        "'%s' generate --model '%s' --prompt-ids 1,17,42,299,5 --max-tokens 6 %s 2>'%s'",
        g_joulebench, path, extra, errf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, out_len - 1, p);
    out[n] = '\0';
    const int status = pclose(p);
    FILE *e = fopen(errf, "rb");
    assert_non_null(e);
    n = fread(err_out, 1, err_len - 1, e);
    err_out[n] = '\0';
    fclose(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct fixture fx;
        struct gw rec;
        struct jb_config c;
        struct jb_err err = { 0 };
        char want[4500], out[256], msg[2048];
        fixture_init(&fx, &arch_cases[bc->fl.zero_rope_factor ? 1 : 0]);
        snprintf(fx.path, sizeof fx.path, "%s/bad_%s.gguf", g_root, bc->label);
        write_gguf(&fx, &bc->fl, &rec);
        patch_file(fx.path, &rec, bc->patch);
        snprintf(want, sizeof want, "%s: ", fx.path);
        const int rc = jb_gguf_config(fx.path, &c, NULL, &err);
        if (rc == 0 || strncmp(err.msg, want, strlen(want)) != 0 || !strstr(err.msg, bc->want))
            fail_msg("%s: jb_gguf_config returned %d \"%s\", expected \"%s...%s...\"", bc->label,
                rc, err.msg, want, bc->want);
        if (g_joulebench) {
            const int status = run_cli(fx.path, "", out, sizeof out, msg, sizeof msg);
            const char *nl = strchr(msg, '\n');
            if (status == 0 || !strstr(msg, bc->want) || !nl || nl[1] != '\0')
                fail_msg("%s: joulebench generate exited %d with \"%s\" (one line with \"%s\" "
                         "expected)",
                    bc->label, status, msg, bc->want);
        }
        printf("  %-17s %s\n", bc->label, err.msg + strlen(want));
        fixture_free(&fx);
    }
}

/* ---- the command line: GGUF and safetensors of the same weights give the same tokens ------- */

/* The fixture as a Hugging Face folder: config.json and an F32 model.safetensors. */
static void write_safetensors(struct fixture *fx, const char *dir)
{
    static const struct {
        const char *gguf, *hf;
    } names[] = {
        { "token_embd.weight", "model.embed_tokens.weight" },
        { "output_norm.weight", "model.norm.weight" },
        { "output.weight", "lm_head.weight" },
        { "attn_norm.weight", "input_layernorm.weight" },
        { "attn_q.weight", "self_attn.q_proj.weight" },
        { "attn_k.weight", "self_attn.k_proj.weight" },
        { "attn_v.weight", "self_attn.v_proj.weight" },
        { "attn_output.weight", "self_attn.o_proj.weight" },
        { "ffn_norm.weight", "post_attention_layernorm.weight" },
        { "ffn_gate.weight", "mlp.gate_proj.weight" },
        { "ffn_up.weight", "mlp.up_proj.weight" },
        { "ffn_down.weight", "mlp.down_proj.weight" },
    };
    char path[4500], hdr[16384] = "{", json[1024];
    size_t data = 0;
    for (int i = 0; i < fx->n; i++) {
        const struct tensor *t = &fx->t[i];
        const char *suffix = t->name, *hf = NULL;
        char name[128];
        int layer = -1;
        if (sscanf(t->name, "blk.%d.", &layer) == 1)
            suffix = strchr(t->name + 4, '.') + 1;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strcmp(suffix, names[k].gguf) == 0)
                hf = names[k].hf;
        assert_non_null(hf);
        if (layer >= 0)
            snprintf(name, sizeof name, "model.layers.%d.%s", layer, hf);
        else
            snprintf(name, sizeof name, "%s", hf);
        const size_t bytes = (size_t)(t->rows * (t->cols ? t->cols : 1)) * 4;
        if (t->cols)
            jb_appendf(hdr, sizeof hdr,
                "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                i ? "," : "", name, (long long)t->rows, (long long)t->cols, data, data + bytes);
        else
            jb_appendf(hdr, sizeof hdr,
                "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}",
                i ? "," : "", name, (long long)t->rows, data, data + bytes);
        data += bytes;
    }
    jb_appendf(hdr, sizeof hdr, "}");
    while (strlen(hdr) % 8)
        jb_appendf(hdr, sizeof hdr, " ");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const uint64_t n = strlen(hdr);
    fwrite(&n, 8, 1, f);
    fwrite(hdr, 1, n, f);
    for (int i = 0; i < fx->n; i++)
        fwrite(fx->t[i].data, 4, (size_t)(fx->t[i].rows * (fx->t[i].cols ? fx->t[i].cols : 1)), f);
    assert_int_equal(fclose(f), 0);
    const struct jb_config *c = &fx->c;
    snprintf(json, sizeof json,
        "{\"model_type\": \"llama\", \"hidden_size\": %lld, \"intermediate_size\": %lld,"
        " \"num_hidden_layers\": 2, \"num_attention_heads\": %lld, \"num_key_value_heads\": %lld,"
        " \"head_dim\": %lld, \"vocab_size\": %d, \"max_position_embeddings\": 64,"
        " \"rope_theta\": 10000.0, \"rms_norm_eps\": 1e-05, \"tie_word_embeddings\": %s}\n",
        (long long)c->hidden_size, (long long)c->intermediate_size, (long long)c->n_heads,
        (long long)c->n_kv_heads, (long long)c->head_dim, VOCAB,
        c->tie_word_embeddings ? "true" : "false");
    jb_test_write(dir, "config.json", json);
}

static void test_generate_matches_safetensors(void **state)
{
    (void)state;
    if (!g_joulebench)
        skip();
    struct fixture fx;
    char dir[4200], a[256], b[256], ea[2048], eb[2048];
    setup_fixture(&fx, &arch_cases[0]); /* llama: permuted attn_q / attn_k in the file */
    snprintf(dir, sizeof dir, "%s/st_twin", g_root);
    write_safetensors(&fx, dir);
    static const char *const dtypes[] = { "", "--dtype q8_0", "--dtype bf16" };
    for (int i = 0; i < 3; i++) {
        if (run_cli(fx.path, dtypes[i], a, sizeof a, ea, sizeof ea) != 0)
            fail_msg("generate on %s %s failed: %s", fx.path, dtypes[i], ea);
        if (run_cli(dir, dtypes[i], b, sizeof b, eb, sizeof eb) != 0)
            fail_msg("generate on %s %s failed: %s", dir, dtypes[i], eb);
        if (strcmp(a, b) != 0 || strlen(a) < 6)
            fail_msg("%s: GGUF gives \"%s\", safetensors \"%s\"", dtypes[i], a, b);
        printf("  generate %-12s GGUF and safetensors both: %s", dtypes[i][0] ? dtypes[i] : "(f32)",
            a);
    }
    fixture_free(&fx);
}

int main(int argc, char **argv)
{
    g_joulebench = argc > 1 ? argv[1] : NULL;
    if (!jb_test_mkdtemp(g_root, sizeof g_root))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_against_reference),
        cmocka_unit_test(test_own_type_copied),
        cmocka_unit_test(test_dtype_converts),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_generate_matches_safetensors),
    };
    const int rc = cmocka_run_group_tests(tests, NULL, NULL);
    jb_test_rmdir(g_root);
    return rc;
}
