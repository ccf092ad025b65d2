/*
 * gguf.c — real weights from one GGUF file (llama.cpp's format, versions 2 and 3), mmap'd,
 * its metadata turned into a jb_config and its tensors converted into the model's storage type.
 *
 * Hand-written because no GGUF reader is packaged in Debian 12 (ggml's gguf.cpp comes only
 * with llama.cpp itself). Format (ggml docs/gguf.md): "GGUF", u32 version, u64 n_tensors, u64
 * n_kv; n_kv pairs of {string key, u32 value type, value}; n_tensors infos of {string name, u32
 * n_dims, u64 ne[n_dims] (innermost first), u32 ggml type, u64 offset}; padding to
 * general.alignment (default 32); the tensor data, each offset relative to its start and a
 * multiple of the alignment. Strings are u64 length + bytes, arrays u32 type + u64 count +
 * values, all little-endian. Every length and offset is checked against the file before it is
 * used, so a malformed file is one error line, never a read outside the mapping.
 *
 * Tensor names and metadata keys are those llama.cpp's convert_hf_to_gguf.py writes. For
 * architecture "llama" the converter permutes the rows of attn_q / attn_k (and their biases)
 * so that ggml's adjacent-pair RoPE matches Hugging Face's rotate-half; the engine rotates
 * halves (jb_rope), so those rows are put back in Hugging Face order here. qwen2, gemma and
 * phi3 use the NEOX (rotate-half) convention and are not permuted. Gemma's norms are stored
 * with the + 1 already added. A tensor whose ggml type equals the model's storage type is
 * copied byte for byte (jb_block_q8_0 / _q4_0 / _q4_k are llama.cpp's blocks); other types are
 * widened to f32 (the kernel table's dequantisers; F16 exactly; Q6_K here, the engine has no
 * Q6_K type) and converted. See docs/gguf.md.
 */
#include "jb_model.h"
#include "layout.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_file.h"

#define GGUF_MAX_TENSORS (1u << 20) /* 405B models have ~1,100 */
#define GGUF_MAX_KV (1u << 20)
#define GGUF_MAX_NAME 256
#define GGUF_MAX_DEPTH 4 /* arrays of arrays */
#define GGUF_MAX_DIM (1ll << 40)

/* ---- ggml tensor types ------------------------------------------------------------------- */

enum {
    GT_F32 = 0,
    GT_F16 = 1,
    GT_Q4_0 = 2,
    GT_Q8_0 = 8,
    GT_Q4_K = 12,
    GT_Q6_K = 14,
    GT_BF16 = 30,
    GT_N = 40,
};

/* Names of every type ggml defines (for messages); block size and bytes of those read here. */
static const struct {
    const char *name;
    int64_t block;
    size_t bytes;
} gtypes[GT_N] = {
    [0] = { "F32", 1, 4 },
    [1] = { "F16", 1, 2 },
    [2] = { "Q4_0", 32, 18 },
    [3] = { .name = "Q4_1" },
    [6] = { .name = "Q5_0" },
    [7] = { .name = "Q5_1" },
    [8] = { "Q8_0", 32, 34 },
    [9] = { .name = "Q8_1" },
    [10] = { .name = "Q2_K" },
    [11] = { .name = "Q3_K" },
    [12] = { "Q4_K", 256, 144 },
    [13] = { .name = "Q5_K" },
    [14] = { "Q6_K", 256, 210 },
    [15] = { .name = "Q8_K" },
    [16] = { .name = "IQ2_XXS" },
    [17] = { .name = "IQ2_XS" },
    [18] = { .name = "IQ3_XXS" },
    [19] = { .name = "IQ1_S" },
    [20] = { .name = "IQ4_NL" },
    [21] = { .name = "IQ3_S" },
    [22] = { .name = "IQ2_S" },
    [23] = { .name = "IQ4_XS" },
    [24] = { .name = "I8" },
    [25] = { .name = "I16" },
    [26] = { .name = "I32" },
    [27] = { .name = "I64" },
    [28] = { .name = "F64" },
    [29] = { .name = "IQ1_M" },
    [30] = { "BF16", 1, 2 },
    [34] = { .name = "TQ1_0" },
    [35] = { .name = "TQ2_0" },
    [39] = { .name = "MXFP4" },
};
#define SUPPORTED_TYPES "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K"

static bool type_known(uint32_t t)
{
    return t < GT_N && gtypes[t].name;
}

static bool type_readable(uint32_t t)
{
    return t < GT_N && gtypes[t].block > 0;
}

/* The ggml type holding exactly the engine's storage type t. */
static uint32_t gtype_of(enum jb_dtype t)
{
    switch (t) {
    case JB_DTYPE_F32: return GT_F32;
    case JB_DTYPE_BF16: return GT_BF16;
    case JB_DTYPE_Q8_0: return GT_Q8_0;
    case JB_DTYPE_Q4_0: return GT_Q4_0;
    case JB_DTYPE_Q4_K: return GT_Q4_K;
    default: return GT_N;
    }
}

/* ---- metadata value types ---------------------------------------------------------------- */

enum {
    GV_U8,
    GV_I8,
    GV_U16,
    GV_I16,
    GV_U32,
    GV_I32,
    GV_F32,
    GV_BOOL,
    GV_STRING,
    GV_ARRAY,
    GV_U64,
    GV_I64,
    GV_F64,
    GV_N
};
static const char *const gv_names[GV_N] = { "uint8", "int8", "uint16", "int16", "uint32", "int32",
    "float32", "bool", "string", "array", "uint64", "int64", "float64" };
static const size_t gv_sizes[GV_N] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

/* ---- the parsed file ---------------------------------------------------------------------- */

struct gguf_str {
    const char *p; /* into the mapping, not NUL-terminated */
    uint64_t n;
};

struct gguf_kv {
    struct gguf_str key;
    uint32_t type;
    const unsigned char *val; /* the value's bytes (an array: its element type and count first) */
    uint32_t arr_type;        /* arrays only */
    uint64_t arr_n;
};

struct gguf_tensor {
    char name[GGUF_MAX_NAME];
    uint32_t n_dims;
    int64_t ne[4]; /* ggml order: ne[0] is the row length */
    uint32_t type;
    uint64_t offset, bytes;
    const unsigned char *data;
    bool used;
};

struct gguf_file {
    const char *path;
    const unsigned char *map;
    size_t size;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    struct gguf_kv *kv;    /* (n_kv) */
    struct gguf_tensor *t; /* (n_tensors), sorted by name once read */
    uint64_t alignment;
    size_t data_off;
    char arch[32];
};

/* A read position in the mapping; `what` names the part being read for messages. */
struct cursor {
    const struct gguf_file *f;
    size_t at;
    const char *what;
    struct jb_err *err;
};

static int truncated(const struct cursor *c)
{
    return jb_fail(c->err, JB_EPARSE, "%s: truncated: the file (%zu bytes) ends inside %s",
        c->f->path, c->f->size, c->what);
}

static int read_bytes(struct cursor *c, void *out, size_t n)
{
    if (n > c->f->size - c->at)
        return truncated(c);
    memcpy(out, c->f->map + c->at, n);
    c->at += n;
    return 0;
}

static int read_u32(struct cursor *c, uint32_t *v)
{
    return read_bytes(c, v, 4); /* x86-64 and aarch64: little-endian, as the file */
}

static int read_u64(struct cursor *c, uint64_t *v)
{
    return read_bytes(c, v, 8);
}

static int read_str(struct cursor *c, struct gguf_str *s)
{
    int rc = read_u64(c, &s->n);
    if (rc)
        return rc;
    if (s->n > c->f->size - c->at)
        return jb_fail(c->err, JB_EPARSE,
            "%s: %s: string length %llu runs past the end of the file (%zu bytes left)", c->f->path,
            c->what, (unsigned long long)s->n, c->f->size - c->at);
    s->p = (const char *)c->f->map + c->at;
    c->at += s->n;
    return 0;
}

/* Skips one value of type `type` (arrays recursively, at most GGUF_MAX_DEPTH deep). */
static int skip_value(struct cursor *c, uint32_t type, int depth)
{
    if (type >= GV_N)
        return jb_fail(
            c->err, JB_EPARSE, "%s: %s: unknown value type %u", c->f->path, c->what, type);
    if (type == GV_STRING) {
        struct gguf_str s;
        return read_str(c, &s);
    }
    if (type != GV_ARRAY)
        return c->f->size - c->at < gv_sizes[type] ? truncated(c) : (c->at += gv_sizes[type], 0);
    uint32_t et;
    uint64_t n;
    int rc;
    if ((rc = read_u32(c, &et)) || (rc = read_u64(c, &n)))
        return rc;
    if (depth >= GGUF_MAX_DEPTH)
        return jb_fail(c->err, JB_EPARSE, "%s: %s: arrays nested more than %d deep", c->f->path,
            c->what, GGUF_MAX_DEPTH);
    if (et >= GV_N)
        return jb_fail(
            c->err, JB_EPARSE, "%s: %s: array of unknown value type %u", c->f->path, c->what, et);
    const size_t left = c->f->size - c->at;
    const size_t least = gv_sizes[et] ? gv_sizes[et] : et == GV_STRING ? 8 : 12;
    if (n > left / least)
        return jb_fail(c->err, JB_EPARSE,
            "%s: %s: array length %llu runs past the end of the file (%zu bytes left)", c->f->path,
            c->what, (unsigned long long)n, left);
    if (gv_sizes[et]) {
        c->at += (size_t)n * gv_sizes[et];
        return 0;
    }
    for (uint64_t i = 0; i < n && !rc; i++)
        rc = skip_value(c, et, depth + 1);
    return rc;
}

static bool str_is(const struct gguf_str *s, const char *want)
{
    return s->n == strlen(want) && memcmp(s->p, want, s->n) == 0;
}

static int cmp_str(const struct gguf_str *a, const struct gguf_str *b)
{
    const int r = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
    return r ? r : (a->n > b->n) - (a->n < b->n);
}

static int by_key(const void *a, const void *b)
{
    return cmp_str(&((const struct gguf_kv *)a)->key, &((const struct gguf_kv *)b)->key);
}

static int by_tensor_name(const void *a, const void *b)
{
    return strcmp(((const struct gguf_tensor *)a)->name, ((const struct gguf_tensor *)b)->name);
}

/* ---- header, metadata, tensor infos ------------------------------------------------------ */

static int map_file(struct gguf_file *f, struct jb_err *err)
{
    const void *p;
    int rc = jb_map_input(f->path, &p, &f->size, err);
    f->map = p;
    if (!rc && f->size < 24)
        rc = jb_fail(err, JB_EPARSE,
            "%s: truncated: %lld bytes, shorter than a GGUF header (24 bytes)", f->path,
            (long long)f->size);
    return rc;
}

static int read_header(struct gguf_file *f, struct cursor *c)
{
    const unsigned char *m = f->map;
    if (memcmp(m, "GGUF", 4) != 0)
        return jb_fail(c->err, JB_EPARSE,
            "%s: not a GGUF file (magic bytes %02x %02x %02x %02x, expected \"GGUF\")", f->path,
            m[0], m[1], m[2], m[3]);
    c->at = 4;
    c->what = "the header";
    int rc;
    if ((rc = read_u32(c, &f->version)) || (rc = read_u64(c, &f->n_tensors))
        || (rc = read_u64(c, &f->n_kv)))
        return rc;
    if (f->version != 2 && f->version != 3)
        return jb_fail(c->err, JB_ENOTSUP, "%s: GGUF version %u is not supported (2 or 3%s)",
            f->path, f->version,
            f->version > 0xffff   ? "; a big-endian file?"
                : f->version == 1 ? "; version 1 is "
                                    "obsolete"
                                  : "");
    /* each pair takes at least 13 bytes (key length, type, a 1-byte value), each tensor info
     * at least 24 (name length, n_dims, type, offset) */
    const size_t left = f->size - c->at;
    if (f->n_kv > left / 13 || f->n_kv > GGUF_MAX_KV)
        return jb_fail(c->err, JB_EPARSE,
            "%s: the header claims %llu metadata pairs, more than the file (%zu bytes) can hold "
            "(truncated, or a corrupt count)",
            f->path, (unsigned long long)f->n_kv, f->size);
    if (f->n_tensors > left / 24 || f->n_tensors > GGUF_MAX_TENSORS)
        return jb_fail(c->err, JB_EPARSE,
            "%s: the header claims %llu tensors, more than the file (%zu bytes) can hold "
            "(truncated, or a corrupt count)",
            f->path, (unsigned long long)f->n_tensors, f->size);
    return 0;
}

static int read_metadata(struct gguf_file *f, struct cursor *c)
{
    char what[GGUF_MAX_NAME + 64];
    f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    if (!f->kv)
        return jb_fail(c->err, JB_ENOMEM, "%s: out of memory", f->path);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        struct gguf_kv *kv = &f->kv[i];
        int rc;
        snprintf(what, sizeof what, "metadata pair %llu", (unsigned long long)i);
        c->what = what;
        if ((rc = read_str(c, &kv->key)) || (rc = read_u32(c, &kv->type)))
            return rc;
        snprintf(what, sizeof what, "metadata key \"%.*s\"",
            (int)(kv->key.n < GGUF_MAX_NAME ? kv->key.n : GGUF_MAX_NAME), kv->key.p);
        kv->val = f->map + c->at;
        if (kv->type == GV_ARRAY && f->size - c->at >= 12) {
            memcpy(&kv->arr_type, kv->val, 4);
            memcpy(&kv->arr_n, kv->val + 4, 8);
        }
        if ((rc = skip_value(c, kv->type, 0)))
            return rc;
    }
    qsort(f->kv, (size_t)f->n_kv, sizeof *f->kv, by_key);
    for (uint64_t i = 1; i < f->n_kv; i++)
        if (cmp_str(&f->kv[i - 1].key, &f->kv[i].key) == 0)
            return jb_fail(c->err, JB_EPARSE, "%s: metadata key \"%.*s\" appears twice", f->path,
                (int)(f->kv[i].key.n < GGUF_MAX_NAME ? f->kv[i].key.n : GGUF_MAX_NAME),
                f->kv[i].key.p);
    return 0;
}

static const struct gguf_kv *find_kv(const struct gguf_file *f, const char *key)
{
    const struct gguf_kv want = { .key = { key, strlen(key) } };
    return f->n_kv ? bsearch(&want, f->kv, (size_t)f->n_kv, sizeof want, by_key) : NULL;
}

/* An integer value of any integer type as int64 (a uint64 above INT64_MAX is *ok false). */
static bool kv_int(const struct gguf_kv *kv, int64_t *out)
{
    const unsigned char *p = kv->val;
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
    } v;
    if (kv->type >= GV_N || !gv_sizes[kv->type] || kv->type == GV_F32 || kv->type == GV_F64
        || kv->type == GV_BOOL)
        return false;
    memcpy(&v, p, gv_sizes[kv->type]);
    switch (kv->type) {
    case GV_U8: *out = v.u8; return true;
    case GV_I8: *out = v.i8; return true;
    case GV_U16: *out = v.u16; return true;
    case GV_I16: *out = v.i16; return true;
    case GV_U32: *out = v.u32; return true;
    case GV_I32: *out = v.i32; return true;
    case GV_U64: *out = (int64_t)v.u64; return v.u64 <= (uint64_t)INT64_MAX;
    default: *out = v.i64; return true;
    }
}

static const char *kv_type_name(const struct gguf_kv *kv)
{
    return kv->type < GV_N ? gv_names[kv->type] : "?";
}

/* Metadata key `key` (printf-formatted with the architecture) as an integer in [min, max];
 * absent: def, or an error when required. */
static int get_int(const struct gguf_file *f, const char *key, bool required, int64_t def,
    int64_t min, int64_t max, int64_t *out, struct jb_err *err)
{
    const struct gguf_kv *kv = find_kv(f, key);
    int64_t v;
    if (!kv) {
        *out = def;
        return required ? jb_fail(err, JB_EPARSE, "%s: missing metadata key \"%s\"", f->path, key)
                        : 0;
    }
    if (!kv_int(kv, &v))
        return jb_fail(err, JB_EPARSE, "%s: metadata key \"%s\": expected an integer, got %s",
            f->path, key, kv_type_name(kv));
    if (v < min || v > max)
        return jb_fail(err, JB_EPARSE, "%s: metadata key \"%s\": %lld is outside [%lld, %lld]",
            f->path, key, (long long)v, (long long)min, (long long)max);
    *out = v;
    return 0;
}

/* A positive finite float32 or float64 value; absent: def, or an error when required. */
static int get_positive(const struct gguf_file *f, const char *key, bool required, double def,
    double *out, struct jb_err *err)
{
    const struct gguf_kv *kv = find_kv(f, key);
    *out = def;
    if (!kv)
        return required ? jb_fail(err, JB_EPARSE, "%s: missing metadata key \"%s\"", f->path, key)
                        : 0;
    if (kv->type == GV_F32) {
        float v;
        memcpy(&v, kv->val, 4);
        *out = v;
    } else if (kv->type == GV_F64) {
        memcpy(out, kv->val, 8);
    } else {
        return jb_fail(err, JB_EPARSE, "%s: metadata key \"%s\": expected a float, got %s", f->path,
            key, kv_type_name(kv));
    }
    if (!isfinite(*out) || *out <= 0.0)
        return jb_fail(err, JB_EPARSE,
            "%s: metadata key \"%s\": expected a positive number, got %g", f->path, key, *out);
    return 0;
}

/* A string value (not NUL-terminated) or NULL when absent; an error when of another type. */
static int get_str(
    const struct gguf_file *f, const char *key, struct gguf_str *out, struct jb_err *err)
{
    const struct gguf_kv *kv = find_kv(f, key);
    out->p = NULL;
    out->n = 0;
    if (!kv)
        return 0;
    if (kv->type != GV_STRING)
        return jb_fail(err, JB_EPARSE, "%s: metadata key \"%s\": expected a string, got %s",
            f->path, key, kv_type_name(kv));
    memcpy(&out->n, kv->val, 8);
    out->p = (const char *)kv->val + 8;
    return 0;
}

static int read_tensor_info(struct gguf_file *f, struct cursor *c, struct gguf_tensor *t)
{
    struct gguf_str name;
    int rc = read_str(c, &name);
    if (rc)
        return rc;
    if (name.n == 0 || name.n >= GGUF_MAX_NAME || memchr(name.p, '\0', name.n))
        return jb_fail(c->err, JB_EPARSE, "%s: %s: a tensor name of %llu bytes (1 to %d, no NUL)",
            f->path, c->what, (unsigned long long)name.n, GGUF_MAX_NAME - 1);
    memcpy(t->name, name.p, name.n);
    t->name[name.n] = '\0';
    if ((rc = read_u32(c, &t->n_dims)))
        return rc;
    if (t->n_dims < 1 || t->n_dims > 4)
        return jb_fail(c->err, JB_EPARSE, "%s: tensor \"%s\": %u dimensions (1 to 4)", f->path,
            t->name, t->n_dims);
    for (uint32_t i = 0; i < t->n_dims; i++) {
        uint64_t ne;
        if ((rc = read_u64(c, &ne)))
            return rc;
        if (ne < 1 || ne > (uint64_t)GGUF_MAX_DIM)
            return jb_fail(c->err, JB_EPARSE, "%s: tensor \"%s\": dimension %u is %llu (1 to 2^40)",
                f->path, t->name, i, (unsigned long long)ne);
        t->ne[i] = (int64_t)ne;
    }
    if ((rc = read_u32(c, &t->type)) || (rc = read_u64(c, &t->offset)))
        return rc;
    if (!type_known(t->type))
        return jb_fail(c->err, JB_EPARSE, "%s: tensor \"%s\": unknown ggml type %u", f->path,
            t->name, t->type);
    return 0;
}

/* Sizes and places tensor t in the data section (types this file does not read are left
 * unsized: they are refused by name if the model needs them). */
static int place_tensor(struct gguf_file *f, struct gguf_tensor *t, struct jb_err *err)
{
    if (!type_readable(t->type))
        return 0;
    const int64_t blk = gtypes[t->type].block;
    if (t->ne[0] % blk != 0)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": a row of %lld values is not a whole number of %s blocks (%lld)",
            f->path, t->name, (long long)t->ne[0], gtypes[t->type].name, (long long)blk);
    uint64_t bytes = (uint64_t)(t->ne[0] / blk) * gtypes[t->type].bytes;
    bool over = false;
    for (uint32_t i = 1; i < t->n_dims; i++)
        over |= __builtin_mul_overflow(bytes, (uint64_t)t->ne[i], &bytes);
    const size_t data_size = f->size - f->data_off;
    if (over || t->offset > data_size || bytes > data_size - t->offset)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": %s%llu bytes at offset %llu run past the end of the file (the "
            "data holds %zu bytes)",
            f->path, t->name, over ? "more than 2^64 " : "",
            (unsigned long long)(over ? UINT64_MAX : bytes), (unsigned long long)t->offset,
            data_size);
    if (t->offset % f->alignment != 0)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": offset %llu is not a multiple of the alignment (%llu)", f->path,
            t->name, (unsigned long long)t->offset, (unsigned long long)f->alignment);
    t->bytes = bytes;
    t->data = f->map + f->data_off + t->offset;
    return 0;
}

static int read_tensors(struct gguf_file *f, struct cursor *c)
{
    char what[64];
    int64_t align;
    int rc = get_int(f, "general.alignment", false, 32, 1, 1 << 30, &align, c->err);
    if (rc)
        return rc;
    if (align & (align - 1))
        return jb_fail(c->err, JB_EPARSE,
            "%s: metadata key \"general.alignment\": %lld is not a power of two", f->path,
            (long long)align);
    f->alignment = (uint64_t)align;
    f->t = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->t);
    if (!f->t)
        return jb_fail(c->err, JB_ENOMEM, "%s: out of memory", f->path);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        snprintf(what, sizeof what, "tensor info %llu", (unsigned long long)i);
        c->what = what;
        if ((rc = read_tensor_info(f, c, &f->t[i])))
            return rc;
    }
    f->data_off = c->at + (f->alignment - c->at % f->alignment) % f->alignment;
    if (f->data_off > f->size)
        f->data_off = f->size; /* no data: any tensor then runs past the end */
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if ((rc = place_tensor(f, &f->t[i], c->err)))
            return rc;
    qsort(f->t, (size_t)f->n_tensors, sizeof *f->t, by_tensor_name);
    for (uint64_t i = 1; i < f->n_tensors; i++)
        if (strcmp(f->t[i - 1].name, f->t[i].name) == 0)
            return jb_fail(
                c->err, JB_EPARSE, "%s: tensor \"%s\" appears twice", f->path, f->t[i].name);
    return 0;
}

static void gguf_close(struct gguf_file *f)
{
    free(f->kv);
    free(f->t);
    if (f->map)
        munmap((void *)f->map, f->size);
    memset(f, 0, sizeof *f);
}

static int gguf_open(struct gguf_file *f, const char *path, struct jb_err *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    struct cursor c = { .f = f, .err = err };
    int rc = map_file(f, err);
    if (!rc)
        rc = read_header(f, &c);
    if (!rc)
        rc = read_metadata(f, &c);
    if (!rc)
        rc = read_tensors(f, &c);
    if (rc)
        gguf_close(f);
    return rc;
}

static struct gguf_tensor *find_tensor(const struct gguf_file *f, const char *name)
{
    struct gguf_tensor key;
    snprintf(key.name, sizeof key.name, "%s", name);
    return f->n_tensors ? bsearch(&key, f->t, (size_t)f->n_tensors, sizeof key, by_tensor_name)
                        : NULL;
}

/* ---- the config, from the metadata -------------------------------------------------------- */

static const char *const archs[] = { "llama", "qwen2", "gemma", "phi3", NULL };
enum { ARCH_LLAMA, ARCH_QWEN2, ARCH_GEMMA, ARCH_PHI3 };

static int arch_of(struct gguf_file *f, int *arch, struct jb_err *err)
{
    struct gguf_str a;
    int rc = get_str(f, "general.architecture", &a, err);
    if (rc)
        return rc;
    if (!a.p)
        return jb_fail(
            err, JB_EPARSE, "%s: missing metadata key \"general.architecture\"", f->path);
    for (int i = 0; archs[i]; i++)
        if (str_is(&a, archs[i])) {
            *arch = i;
            snprintf(f->arch, sizeof f->arch, "%s", archs[i]);
            return 0;
        }
    return jb_fail(err, JB_ENOTSUP,
        "%s: architecture \"%.*s\" is not supported (llama, qwen2, gemma, phi3)", f->path,
        (int)(a.n < 64 ? a.n : 64), a.p);
}

/* The vocabulary size: {arch}.vocab_size, else the length of tokenizer.ggml.tokens, else the
 * rows of token_embd.weight (checked against its shape later either way). */
static int vocab_size(const struct gguf_file *f, int64_t *out, struct jb_err *err)
{
    char key[96];
    snprintf(key, sizeof key, "%s.vocab_size", f->arch);
    if (find_kv(f, key))
        return get_int(f, key, true, 0, 1, 1 << 24, out, err);
    const struct gguf_kv *tok = find_kv(f, "tokenizer.ggml.tokens");
    if (tok && (tok->type != GV_ARRAY || tok->arr_type != GV_STRING))
        return jb_fail(err, JB_EPARSE,
            "%s: metadata key \"tokenizer.ggml.tokens\": expected an array of strings", f->path);
    const struct gguf_tensor *emb = find_tensor(f, "token_embd.weight");
    const uint64_t n = tok ? tok->arr_n : emb && emb->n_dims == 2 ? (uint64_t)emb->ne[1] : 0;
    if (!tok && !emb)
        return jb_fail(err, JB_EPARSE,
            "%s: missing metadata key \"tokenizer.ggml.tokens\" (the vocabulary size)", f->path);
    if (n < 1 || n > (1 << 24))
        return jb_fail(err, JB_EPARSE, "%s: a vocabulary of %llu tokens (1 to 2^24)", f->path,
            (unsigned long long)n);
    *out = (int64_t)n;
    return 0;
}

static int read_rope(const struct gguf_file *f, struct jb_config *c, struct jb_err *err)
{
    char key[96];
    struct gguf_str type;
    int64_t dims;
    int rc;
    snprintf(key, sizeof key, "%s.rope.freq_base", f->arch);
    if ((rc = get_positive(f, key, false, 10000.0, &c->rope_theta, err)))
        return rc;
    snprintf(key, sizeof key, "%s.rope.dimension_count", f->arch);
    if ((rc = get_int(f, key, false, c->head_dim, 1, 1 << 16, &dims, err)))
        return rc;
    if (dims != c->head_dim)
        return jb_fail(err, JB_ENOTSUP,
            "%s: metadata key \"%s\": rotary embedding over %lld of %lld head dimensions is not "
            "supported (only all of them)",
            f->path, key, (long long)dims, (long long)c->head_dim);
    c->rope_scaling = JB_ROPE_DEFAULT;
    c->rope_factor = 1.0;
    snprintf(key, sizeof key, "%s.rope.scaling.type", f->arch);
    if ((rc = get_str(f, key, &type, err)) || !type.p || str_is(&type, "none"))
        return rc;
    if (!str_is(&type, "linear"))
        return jb_fail(err, JB_ENOTSUP,
            "%s: metadata key \"%s\": \"%.*s\" is not supported (none, linear)", f->path, key,
            (int)(type.n < 64 ? type.n : 64), type.p);
    c->rope_scaling = JB_ROPE_LINEAR;
    snprintf(key, sizeof key, "%s.rope.scaling.factor", f->arch);
    return get_positive(f, key, true, 1.0, &c->rope_factor, err);
}

static int read_shape(const struct gguf_file *f, struct jb_config *c, struct jb_err *err)
{
    char key[8][96];
    static const char *const names[] = { "block_count", "context_length", "embedding_length",
        "feed_forward_length", "attention.head_count", "attention.head_count_kv",
        "attention.key_length", "attention.value_length" };
    for (int i = 0; i < 8; i++)
        snprintf(key[i], sizeof key[i], "%s.%s", f->arch, names[i]);
    int64_t v_len;
    int rc;
    if ((rc = get_int(f, key[0], true, 0, 1, 1 << 14, &c->n_layers, err))
        || (rc = get_int(f, key[1], true, 0, 1, 1 << 26, &c->max_position_embeddings, err))
        || (rc = get_int(f, key[2], true, 0, 1, 1 << 20, &c->hidden_size, err))
        || (rc = get_int(f, key[3], true, 0, 1, 1 << 22, &c->intermediate_size, err))
        || (rc = get_int(f, key[4], true, 0, 1, 1 << 16, &c->n_heads, err))
        || (rc = get_int(f, key[5], false, c->n_heads, 1, 1 << 16, &c->n_kv_heads, err)))
        return rc;
    if (c->n_heads % c->n_kv_heads != 0)
        return jb_fail(err, JB_EPARSE,
            "%s: metadata key \"%s\": %lld does not divide the head count (%lld)", f->path, key[5],
            (long long)c->n_kv_heads, (long long)c->n_heads);
    if (!find_kv(f, key[6]) && c->hidden_size % c->n_heads != 0)
        return jb_fail(err, JB_EPARSE,
            "%s: metadata key \"%s\": %lld is not divisible by the head count (%lld) and no %s is "
            "given",
            f->path, key[2], (long long)c->hidden_size, (long long)c->n_heads, key[6]);
    if ((rc = get_int(f, key[6], false, c->hidden_size / c->n_heads, 2, 1 << 16, &c->head_dim, err))
        || (rc = get_int(f, key[7], false, c->head_dim, 1, 1 << 16, &v_len, err)))
        return rc;
    if (c->head_dim % 2 != 0 || v_len != c->head_dim)
        return jb_fail(err, JB_ENOTSUP,
            "%s: heads of key length %lld and value length %lld are not supported (equal and "
            "even)",
            f->path, (long long)c->head_dim, (long long)v_len);
    return vocab_size(f, &c->vocab_size, err);
}

static const char *base_name(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    snprintf(buf, len, "%s", slash ? slash + 1 : path);
    const size_t n = strlen(buf);
    if (n > 5 && strcmp(buf + n - 5, ".gguf") == 0)
        buf[n - 5] = '\0';
    return buf;
}

static int read_config(struct gguf_file *f, struct jb_config *c, struct jb_err *err)
{
    int arch = 0, rc;
    double eps;
    char key[96];
    memset(c, 0, sizeof *c);
    if ((rc = arch_of(f, &arch, err)) || (rc = read_shape(f, c, err))
        || (rc = read_rope(f, c, err)))
        return rc;
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", f->arch);
    if ((rc = get_positive(f, key, true, 1e-6, &eps, err)))
        return rc;
    base_name(f->path, c->name, sizeof c->name);
    snprintf(c->model_type, sizeof c->model_type, "%s", f->arch);
    c->norm_eps = (float)eps;
    c->tie_word_embeddings = !find_tensor(f, "output.weight");
    c->qkv_bias = find_tensor(f, "blk.0.attn_q.bias") || find_tensor(f, "blk.0.attn_qkv.bias");
    c->o_bias = find_tensor(f, "blk.0.attn_output.bias") != NULL;
    c->mlp_bias = find_tensor(f, "blk.0.ffn_down.bias") != NULL;
    c->act = arch == ARCH_GEMMA ? JB_ACT_GELU_TANH : JB_ACT_SILU;
    c->embed_scale_sqrt_dim = arch == ARCH_GEMMA;
    c->norm_plus_one = arch == ARCH_GEMMA; /* the file's norms already hold the + 1 */
    c->fused_checkpoint = arch == ARCH_PHI3;
    for (int t = 0; t < JB_DTYPE_COUNT; t++)
        if (jb__weight_bytes(c, (enum jb_dtype)t) > JB_MODEL_MAX_BYTES)
            return jb_fail(err, JB_ERANGE,
                "%s: the metadata describes weights of more than the 64 PiB a model may have",
                f->path);
    return 0;
}

/* The storage type that keeps the file's own quantisation: that of most weights in the 2-D
 * tensors (F16 -> f32, exact; Q6_K -> q8_0, the nearest the engine has). */
static enum jb_dtype file_dtype(const struct gguf_file *f)
{
    uint64_t count[GT_N] = { 0 };
    uint32_t best = GT_F32;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->t[i].n_dims == 2)
            count[f->t[i].type] += (uint64_t)f->t[i].ne[0] * (uint64_t)f->t[i].ne[1];
    for (uint32_t t = 0; t < GT_N; t++)
        if (count[t] > count[best])
            best = t;
    switch (best) {
    case GT_BF16: return JB_DTYPE_BF16;
    case GT_Q8_0: return JB_DTYPE_Q8_0;
    case GT_Q6_K: return JB_DTYPE_Q8_0;
    case GT_Q4_0: return JB_DTYPE_Q4_0;
    case GT_Q4_K: return JB_DTYPE_Q4_K;
    default: return JB_DTYPE_F32;
    }
}

/* ---- rows: dequantising and converting ---------------------------------------------------- */

/* llama.cpp's block_q6_K: 256 6-bit values q - 32 in 16 sub-blocks of 16 with int8 scales. */
struct block_q6_k {
    uint8_t ql[128]; /* low 4 bits */
    uint8_t qh[64];  /* high 2 bits */
    int8_t scales[16];
    uint16_t d; /* fp16 */
};
_Static_assert(sizeof(struct block_q6_k) == 210, "block_q6_K is llama.cpp's 210 bytes");

static void dequant_q6_k(const struct block_q6_k *b, float *out, int64_t n)
{
    for (int64_t i = 0; i < n / JB_QK_K; i++, b++) {
        const float d = jb_fp16_to_f32(b->d);
        const uint8_t *ql = b->ql, *qh = b->qh;
        const int8_t *sc = b->scales;
        for (int half = 0; half < 2; half++, out += 128, ql += 64, qh += 32, sc += 8)
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                out[l] = d * (float)sc[is] * (float)q1;
                out[l + 32] = d * (float)sc[is + 2] * (float)q2;
                out[l + 64] = d * (float)sc[is + 4] * (float)q3;
                out[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
    }
}

/* Row r of t (cols values) widened to f32; tmp holds one source row (aligned for the blocks,
 * which the file may place at any multiple of its alignment). */
static void source_row(const struct jb_kernel_ops *k, const struct gguf_tensor *t, int64_t r,
    int64_t cols, void *tmp, float *out)
{
    const size_t rb = (size_t)(cols / gtypes[t->type].block) * gtypes[t->type].bytes;
    memcpy(tmp, t->data + (size_t)r * rb, rb);
    switch (t->type) {
    case GT_F32: memcpy(out, tmp, (size_t)cols * 4); break;
    case GT_F16:
        for (int64_t i = 0; i < cols; i++)
            out[i] = jb_fp16_to_f32(((const uint16_t *)tmp)[i]);
        break;
    case GT_BF16:
        for (int64_t i = 0; i < cols; i++)
            out[i] = jb_bf16_to_f32(((const uint16_t *)tmp)[i]);
        break;
    case GT_Q8_0: k->dequant_q8_0(tmp, out, cols); break;
    case GT_Q4_0: k->dequant_q4_0(tmp, out, cols); break;
    case GT_Q4_K: k->dequant_q4_k(tmp, out, cols); break;
    case GT_Q6_K: dequant_q6_k(tmp, out, cols); break;
    default: JB_ASSERT(!"type not readable");
    }
}

/* ---- the walk: every tensor the config implies, taken and (when loading) converted -------- */

struct loader {
    struct gguf_file *f;
    const struct jb_config *c;
    struct jb_model *m; /* NULL: check only */
    bool convert;
    bool permute; /* llama: attn_q / attn_k rows in ggml's rope order */
    struct jb_err *err;
};

/* Takes tensor `name` of (rows, cols) (cols 0: a vector of rows), type readable, marks it. */
static int take(
    struct loader *ld, const char *name, int64_t rows, int64_t cols, struct gguf_tensor **out)
{
    struct gguf_tensor *t = find_tensor(ld->f, name);
    if (!t)
        return jb_fail(ld->err, JB_ENOENT, "%s: tensor \"%s\" not found", ld->f->path, name);
    const bool ok = cols ? t->n_dims == 2 && t->ne[0] == cols && t->ne[1] == rows
                         : t->n_dims == 1 && t->ne[0] == rows;
    if (!ok) {
        char got[96] = "";
        for (uint32_t i = 0; i < t->n_dims; i++)
            jb_appendf(got, sizeof got, "%s%lld", i ? ", " : "", (long long)t->ne[i]);
        return cols ? jb_fail(ld->err, JB_EPARSE,
                   "%s: tensor \"%s\": shape [%s] (ggml order), the metadata implies "
                   "[%lld, %lld]",
                   ld->f->path, name, got, (long long)cols, (long long)rows)
                    : jb_fail(ld->err, JB_EPARSE,
                        "%s: tensor \"%s\": shape [%s], the metadata implies [%lld]", ld->f->path,
                        name, got, (long long)rows);
    }
    if (!type_readable(t->type)
        || (!cols && t->type != GT_F32 && t->type != GT_F16 && t->type != GT_BF16))
        return jb_fail(ld->err, JB_ENOTSUP, "%s: tensor \"%s\": type %s is not supported (%s)",
            ld->f->path, name, gtypes[t->type].name, cols ? SUPPORTED_TYPES : "F32, F16, BF16");
    t->used = true;
    *out = t;
    return 0;
}

/* The row of a ggml-permuted attn_q / attn_k (heads of hd rows) that holds Hugging Face row
 * r: the converter's permute reshapes each head's rows (2, hd/2) -> (hd/2, 2), so HF row
 * j hd/2 + i of a head is ggml row 2 i + j. */
static int64_t unpermuted(int64_t r, int64_t hd)
{
    const int64_t h = r / hd, w = r % hd, half = hd / 2;
    return h * hd + 2 * (w % half) + w / half;
}

/* Takes matrix `name` (rows, cols); when converting, into rows [row0, row0 + rows) of dst. */
static int load_matrix(struct loader *ld, const char *name, struct jb_tensor *dst, int64_t row0,
    int64_t rows, int64_t cols, bool permuted)
{
    struct gguf_tensor *t;
    int rc = take(ld, name, rows, cols, &t);
    if (rc || !ld->convert)
        return rc;
    JB_ASSERT(dst->cols == cols && row0 + rows <= dst->rows);
    const size_t row_bytes = jb_dtype_row_bytes(dst->dtype, cols);
    const size_t src_bytes = (size_t)(cols / gtypes[t->type].block) * gtypes[t->type].bytes;
    const bool copy = t->type == gtype_of(dst->dtype) && src_bytes == row_bytes;
    const struct jb_kernel_ops *k = ld->m->ops;
    const int64_t hd = ld->c->head_dim;
#pragma omp parallel
    {
        float *row = malloc((size_t)cols * sizeof(float));
        void *tmp = malloc(src_bytes);
        JB_ASSERT(row && tmp);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            void *out = (char *)dst->data + (size_t)(row0 + r) * row_bytes;
            const int64_t from = permuted ? unpermuted(r, hd) : r;
            if (copy) {
                memcpy(out, t->data + (size_t)from * src_bytes, src_bytes);
                continue;
            }
            source_row(k, t, from, cols, tmp, row);
            if (dst->dtype == JB_DTYPE_Q8_0)
                k->quantize_q8_0(row, out, cols);
            else
                jb_row_from_f32(dst->dtype, out, row, cols);
        }
        free(row);
        free(tmp);
    }
    return 0;
}

/* Takes vector `name` (n); when converting, into dst[at..at + n). */
static int load_vector(
    struct loader *ld, const char *name, float *dst, int64_t at, int64_t n, bool permuted)
{
    struct gguf_tensor *t;
    int rc = take(ld, name, n, 0, &t);
    if (rc || !ld->convert)
        return rc;
    float *v = malloc((size_t)n * sizeof *v);
    void *tmp = malloc((size_t)n * 4);
    if (!v || !tmp) {
        free(v);
        free(tmp);
        return jb_fail(ld->err, JB_ENOMEM, "%s: out of memory", ld->f->path);
    }
    source_row(ld->m->ops, t, 0, n, tmp, v);
    for (int64_t i = 0; i < n; i++)
        dst[at + i] = v[ld->permute && permuted ? unpermuted(i, ld->c->head_dim) : i];
    free(v);
    free(tmp);
    return 0;
}

static int load_attention(struct loader *ld, const char *p, struct jb_layer_weights *w)
{
    const struct jb_config *c = ld->c;
    const int64_t d = c->hidden_size, q = c->n_heads * c->head_dim;
    const int64_t kv = c->n_kv_heads * c->head_dim;
    char name[GGUF_MAX_NAME];
    int rc;
    if (c->fused_checkpoint) {
        snprintf(name, sizeof name, "%s.attn_qkv.weight", p);
        if ((rc = load_matrix(ld, name, &w->wqkv, 0, q + 2 * kv, d, false)))
            return rc;
        snprintf(name, sizeof name, "%s.attn_qkv.bias", p);
        if (c->qkv_bias && (rc = load_vector(ld, name, w->bqkv, 0, q + 2 * kv, false)))
            return rc;
    } else {
        static const char *const parts[] = { "attn_q", "attn_k", "attn_v" };
        const int64_t rows[] = { q, kv, kv }, row0[] = { 0, q, q + kv };
        for (int i = 0; i < 3; i++) {
            const bool perm = ld->permute && i < 2;
            snprintf(name, sizeof name, "%s.%s.weight", p, parts[i]);
            if ((rc = load_matrix(ld, name, &w->wqkv, row0[i], rows[i], d, perm)))
                return rc;
            snprintf(name, sizeof name, "%s.%s.bias", p, parts[i]);
            if (c->qkv_bias && (rc = load_vector(ld, name, w->bqkv, row0[i], rows[i], perm)))
                return rc;
        }
    }
    snprintf(name, sizeof name, "%s.attn_output.weight", p);
    if ((rc = load_matrix(ld, name, &w->wo, 0, d, q, false)))
        return rc;
    snprintf(name, sizeof name, "%s.attn_output.bias", p);
    return c->o_bias ? load_vector(ld, name, w->bo, 0, d, false) : 0;
}

static int load_mlp(struct loader *ld, const char *p, struct jb_layer_weights *w)
{
    const struct jb_config *c = ld->c;
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    char name[GGUF_MAX_NAME];
    int rc;
    if (c->fused_checkpoint) { /* Phi-3: ffn_up holds gate rows then up rows */
        snprintf(name, sizeof name, "%s.ffn_up.weight", p);
        if ((rc = load_matrix(ld, name, &w->w_gate_up, 0, 2 * f, d, false)))
            return rc;
    } else {
        static const char *const parts[] = { "ffn_gate", "ffn_up" };
        for (int i = 0; i < 2; i++) {
            snprintf(name, sizeof name, "%s.%s.weight", p, parts[i]);
            if ((rc = load_matrix(ld, name, &w->w_gate_up, i * f, f, d, false)))
                return rc;
            snprintf(name, sizeof name, "%s.%s.bias", p, parts[i]);
            if (c->mlp_bias && (rc = load_vector(ld, name, w->b_gate_up, i * f, f, false)))
                return rc;
        }
    }
    snprintf(name, sizeof name, "%s.ffn_down.weight", p);
    if ((rc = load_matrix(ld, name, &w->w_down, 0, d, f, false)))
        return rc;
    snprintf(name, sizeof name, "%s.ffn_down.bias", p);
    return c->mlp_bias ? load_vector(ld, name, w->b_down, 0, d, false) : 0;
}

static int load_layer(struct loader *ld, int64_t i, struct jb_layer_weights *w)
{
    const int64_t d = ld->c->hidden_size;
    char p[32], name[GGUF_MAX_NAME];
    int rc;
    snprintf(p, sizeof p, "blk.%lld", (long long)i);
    snprintf(name, sizeof name, "%s.attn_norm.weight", p);
    if ((rc = load_vector(ld, name, w->attn_norm, 0, d, false)) || (rc = load_attention(ld, p, w)))
        return rc;
    snprintf(name, sizeof name, "%s.ffn_norm.weight", p);
    if ((rc = load_vector(ld, name, w->ffn_norm, 0, d, false)))
        return rc;
    return load_mlp(ld, p, w);
}

/* rope_freqs.weight (llama.cpp's Llama 3.1 scaling: head_dim/2 factors that divide each
 * frequency), when the file has it. */
static int load_rope_freqs(struct loader *ld)
{
    const int64_t half = ld->c->head_dim / 2;
    struct gguf_tensor *t;
    if (!find_tensor(ld->f, "rope_freqs.weight"))
        return 0;
    int rc = take(ld, "rope_freqs.weight", half, 0, &t);
    if (rc)
        return rc; /* the values are checked also when not converting */
    float *v = malloc((size_t)half * sizeof *v), *tmp = malloc((size_t)half * 4);
    if (!v || !tmp) {
        free(v);
        free(tmp);
        return jb_fail(ld->err, JB_ENOMEM, "%s: out of memory", ld->f->path);
    }
    source_row(jb_kernels_ref(), t, 0, half, tmp, v);
    for (int64_t i = 0; i < half && !rc; i++)
        if (!(v[i] > 0.0f) || !isfinite(v[i]))
            rc = jb_fail(ld->err, JB_EPARSE,
                "%s: tensor \"rope_freqs.weight\": factor %lld is %g (expected a positive number)",
                ld->f->path, (long long)i, (double)v[i]);
        else if (ld->convert)
            ld->m->rope_inv_freq[i] /= v[i];
    free(v);
    free(tmp);
    return rc;
}

static int walk(struct loader *ld)
{
    const struct jb_config *c = ld->c;
    struct jb_model *m = ld->m;
    struct jb_layer_weights none = { 0 };
    const bool convert = ld->convert;
    int rc = load_matrix(ld, "token_embd.weight", convert ? &m->embed : NULL, 0, c->vocab_size,
        c->hidden_size, false);
    for (int64_t i = 0, k = 0; i < c->n_layers && !rc; i++) {
        const bool run = k < jb_config_layers(c) && jb_config_layer_index(c, k) == i;
        ld->convert = convert && run;
        rc = load_layer(ld, i, ld->convert ? &m->layers[k] : &none);
        k += run;
    }
    ld->convert = convert;
    if (!rc)
        rc = load_vector(
            ld, "output_norm.weight", convert ? m->final_norm : NULL, 0, c->hidden_size, false);
    if (!rc && !c->tie_word_embeddings)
        rc = load_matrix(ld, "output.weight", convert ? &m->lm_head : NULL, 0, c->vocab_size,
            c->hidden_size, false);
    if (!rc)
        rc = load_rope_freqs(ld);
    for (uint64_t i = 0; i < ld->f->n_tensors && !rc; i++)
        if (!ld->f->t[i].used)
            rc = jb_fail(ld->err, JB_ENOTSUP,
                "%s: tensor \"%s\" is not part of a %s model with this metadata", ld->f->path,
                ld->f->t[i].name, ld->f->arch);
    return rc;
}

/* ---- public ------------------------------------------------------------------------------ */

bool jb_gguf_path(const char *path)
{
    const size_t n = path ? strlen(path) : 0;
    return n > 5 && strcmp(path + n - 5, ".gguf") == 0;
}

int jb_gguf_config(
    const char *path, struct jb_config *out, enum jb_dtype *dtype, struct jb_err *err)
{
    struct gguf_file f;
    int rc = gguf_open(&f, path, err);
    if (rc)
        return rc;
    rc = read_config(&f, out, err);
    if (!rc) { /* every tensor checked now, so that a bad one is refused before a run starts */
        struct loader ld
            = { .f = &f, .c = out, .permute = strcmp(f.arch, "llama") == 0, .err = err };
        rc = walk(&ld);
    }
    if (!rc && dtype)
        *dtype = file_dtype(&f);
    gguf_close(&f);
    return rc;
}

int jb_model_load_gguf(struct jb_model *m, const char *path, struct jb_err *err)
{
    struct gguf_file f;
    struct jb_config c;
    int rc = gguf_open(&f, path, err);
    if (rc)
        return rc;
    rc = read_config(&f, &c, err);
    if (!rc
        && (c.n_layers != m->cfg.n_layers || c.hidden_size != m->cfg.hidden_size
            || c.intermediate_size != m->cfg.intermediate_size || c.n_heads != m->cfg.n_heads
            || c.n_kv_heads != m->cfg.n_kv_heads || c.head_dim != m->cfg.head_dim
            || c.vocab_size != m->cfg.vocab_size
            || c.tie_word_embeddings != m->cfg.tie_word_embeddings || c.qkv_bias != m->cfg.qkv_bias
            || c.o_bias != m->cfg.o_bias || c.mlp_bias != m->cfg.mlp_bias
            || c.fused_checkpoint != m->cfg.fused_checkpoint))
        rc = jb_fail(err, JB_EINVAL, "%s: the file's shape differs from the model's config", path);
    if (!rc) {
        struct loader ld = { .f = &f,
            .c = &m->cfg,
            .m = m,
            .convert = true,
            .permute = strcmp(f.arch, "llama") == 0,
            .err = err };
        rc = walk(&ld);
    }
    if (!rc)
        snprintf(m->weights_source, sizeof m->weights_source, "%s", path);
    gguf_close(&f);
    return rc;
}
