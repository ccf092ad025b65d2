/*
 * safetensors.c — real weights: Hugging Face safetensors files, mmap'd, checked and converted
 * into the model's storage type.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__": {...}}, then the tensor bytes. A sharded
 * checkpoint adds model.safetensors.index.json whose "weight_map" names each tensor's file.
 * Each file is checked whole when it is opened, as the reference implementation does: the
 * header fits the file, every entry's byte count (overflow-checked) is its data_offsets' span,
 * and the spans tile the byte buffer exactly (no overlap, no gap, no name twice). One walk of
 * the tensors a config implies then takes each (present, F32/BF16/F16, the config's shape) and
 * converts it (jb_model_load_safetensors) or only checks it (jb_safetensors_check); a tensor the
 * walk did not take is an error, so a checkpoint of another architecture is refused rather than
 * silently half-used.
 */
#include "jb_model.h"

#include <cjson/cJSON.h>
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

#define MAX_SHARDS 256
#define MAX_HEADER_BYTES 100000000ull /* the reference implementation's limit */
#define MAX_INDEX_BYTES (64u << 20)

/* The element types the format defines, with their sizes; jb converts the first three. */
enum st_dtype { ST_F32, ST_BF16, ST_F16, ST_N_LOADABLE };
static const struct {
    const char *name;
    size_t size;
} st_dtypes[] = {
    { "F32", 4 },
    { "BF16", 2 },
    { "F16", 2 }, /* in enum st_dtype's order */
    { "F64", 8 },
    { "I64", 8 },
    { "U64", 8 },
    { "I32", 4 },
    { "U32", 4 },
    { "I16", 2 },
    { "U16", 2 },
    { "I8", 1 },
    { "U8", 1 },
    { "BOOL", 1 },
    { "F8_E4M3", 1 },
    { "F8_E5M2", 1 },
    { "F8_E8M0", 1 },
};
#define N_DTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

struct st_file;

/* One header entry, checked against its file. */
struct st_tensor {
    const char *name; /* the header's key (owned by file->header) */
    const struct st_file *file;
    int dtype; /* index into st_dtypes */
    int ndim;
    int64_t shape[4];
    uint64_t begin, end; /* data_offsets: bytes [begin, end) of the file's byte buffer */
    bool used;           /* taken by the walk */
};

struct st_file {
    char path[PATH_MAX];
    char name[256]; /* as the index's weight_map names it */
    const unsigned char *map;
    size_t size;
    cJSON *header;
    const unsigned char *data; /* start of the byte buffer */
    size_t data_size;
    struct st_tensor *tensors; /* (n_tensors), sorted by name */
    int n_tensors;
};

struct st_set {
    struct st_file files[MAX_SHARDS];
    int n_files;
    cJSON *weight_map; /* owned by index; NULL for a single file */
    cJSON *index;
    char index_path[PATH_MAX];
};

/* dir/name into buf; a path longer than PATH_MAX is refused rather than cut. */
static int join(char *buf, const char *dir, const char *name, struct jb_err *err)
{
    const int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    return n >= 0 && n < PATH_MAX
        ? 0
        : jb_fail(err, JB_ERANGE, "%s/%s: path longer than %d bytes", dir, name, PATH_MAX - 1);
}

/* A path of that name exists, whatever it is: an unreadable, dangling or odd one is then an
 * error when it is opened, never a silent fall back to random weights. */
static bool exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    return join(path, dir, name, NULL) == 0 && lstat(path, &st) == 0;
}

bool jb_safetensors_present(const char *dir)
{
    return exists(dir, "model.safetensors") || exists(dir, "model.safetensors.index.json");
}

/* ---- one file: mapped, its header parsed and checked whole ------------------------------- */

/* Maps f->path (a regular file of at least the 8-byte prefix) read-only. */
static int map_file(struct st_file *f, struct jb_err *err)
{
    const void *p;
    int rc = jb_map_input(f->path, &p, &f->size, err);
    f->map = p;
    if (!rc && f->size < 8)
        rc = jb_fail(err, JB_EPARSE, "%s: too short to be a safetensors file (%lld bytes)", f->path,
            (long long)f->size);
    return rc;
}

static int read_header(struct st_file *f, struct jb_err *err)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | f->map[i];
    if (n > f->size - 8)
        return jb_fail(err, JB_EPARSE, "%s: header length %llu exceeds the file size %zu", f->path,
            (unsigned long long)n, f->size);
    if (n > MAX_HEADER_BYTES)
        return jb_fail(err, JB_EPARSE,
            "%s: header length %llu exceeds the format's limit of %llu bytes", f->path,
            (unsigned long long)n, MAX_HEADER_BYTES);
    f->header = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)n);
    if (!cJSON_IsObject(f->header))
        return jb_fail(err, JB_EPARSE, "%s: header is not a JSON object", f->path);
    f->data = f->map + 8 + n;
    f->data_size = f->size - 8 - (size_t)n;
    return 0;
}

/* A non-negative integer below 2^50 (a dimension or a byte offset): exact in a double. */
static bool is_count(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1125899906842624.0
        && v->valuedouble == floor(v->valuedouble);
}

static void shape_str(const struct st_tensor *t, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < t->ndim; i++)
        jb_appendf(buf, len, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
}

static int unsupported_dtype(
    const struct st_file *f, const char *name, const char *dtype, struct jb_err *err)
{
    return jb_fail(err, JB_ENOTSUP,
        "%s: tensor \"%s\": dtype %s is not supported (F32, BF16 or F16)", f->path, name, dtype);
}

/* Reads the shape; *bytes is what it holds in t's dtype, overflow refused. */
static int parse_shape(const struct st_file *f, const cJSON *shape, struct st_tensor *t,
    uint64_t *bytes, struct jb_err *err)
{
    bool zero = false, over = false;
    t->ndim = cJSON_GetArraySize(shape);
    for (int i = 0; i < t->ndim; i++) {
        const cJSON *v = cJSON_GetArrayItem(shape, i);
        if (!is_count(v))
            return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\": bad shape", f->path, t->name);
        t->shape[i] = (int64_t)v->valuedouble;
        zero |= t->shape[i] == 0;
    }
    *bytes = st_dtypes[t->dtype].size;
    for (int i = 0; i < t->ndim && !zero; i++)
        over |= __builtin_mul_overflow(*bytes, (uint64_t)t->shape[i], bytes);
    if (zero)
        *bytes = 0;
    if (!over)
        return 0;
    char got[128];
    shape_str(t, got, sizeof got);
    return jb_fail(err, JB_ERANGE, "%s: tensor \"%s\": shape [%s] of %s holds more than 2^64 bytes",
        f->path, t->name, got, st_dtypes[t->dtype].name);
}

/* Parses header entry e of f into t: a known dtype, a shape of at most 4 dimensions and
 * data_offsets inside the byte buffer spanning exactly the shape's bytes. */
static int parse_entry(
    const struct st_file *f, const cJSON *e, struct st_tensor *t, struct jb_err *err)
{
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    uint64_t bytes = 0;
    int rc;
    t->name = e->string;
    t->file = f;
    t->dtype = -1;
    if (!cJSON_IsObject(e))
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": not a {dtype, shape, data_offsets} object", f->path, t->name);
    for (int i = 0; i < N_DTYPES && cJSON_IsString(dt); i++)
        if (strcmp(dt->valuestring, st_dtypes[i].name) == 0)
            t->dtype = i;
    if (t->dtype < 0)
        return unsupported_dtype(f, t->name, cJSON_IsString(dt) ? dt->valuestring : "missing", err);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > 4 || !cJSON_IsArray(off)
        || cJSON_GetArraySize(off) != 2)
        return jb_fail(
            err, JB_EPARSE, "%s: tensor \"%s\": malformed shape or data_offsets", f->path, t->name);
    if ((rc = parse_shape(f, shape, t, &bytes, err)))
        return rc;
    if (!is_count(cJSON_GetArrayItem(off, 0)) || !is_count(cJSON_GetArrayItem(off, 1)))
        return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\": data_offsets are not byte offsets",
            f->path, t->name);
    t->begin = (uint64_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    t->end = (uint64_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    if (t->end < t->begin || t->end > f->data_size)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": data_offsets [%llu, %llu] lie outside the data (%zu bytes)",
            f->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
            f->data_size);
    if (t->end - t->begin != bytes)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": data_offsets [%llu, %llu] span %llu bytes, but its shape and "
            "dtype make %llu",
            f->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
            (unsigned long long)(t->end - t->begin), (unsigned long long)bytes);
    return 0;
}

static int by_offsets(const void *a, const void *b)
{
    const struct st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct st_tensor *)a)->name, ((const struct st_tensor *)b)->name);
}

/* The spans tile the byte buffer: from 0, each where the last ended, the last at its end (the
 * reference implementation refuses gaps as well as overlaps). Leaves f->tensors by name. */
static int check_tiling(struct st_file *f, struct jb_err *err)
{
    uint64_t at = 0;
    qsort(f->tensors, (size_t)f->n_tensors, sizeof *f->tensors, by_offsets);
    for (int i = 0; i < f->n_tensors; i++) {
        const struct st_tensor *t = &f->tensors[i], *prev = &f->tensors[i > 0 ? i - 1 : 0];
        if (t->begin < at)
            return jb_fail(err, JB_EPARSE,
                "%s: tensor \"%s\": data_offsets [%llu, %llu] overlap those of tensor \"%s\" "
                "[%llu, %llu]",
                f->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                prev->name, (unsigned long long)prev->begin, (unsigned long long)prev->end);
        if (t->begin > at)
            return jb_fail(err, JB_EPARSE,
                "%s: tensor \"%s\": data_offsets [%llu, %llu] leave bytes [%llu, %llu) to no "
                "tensor (the format allows no gaps)",
                f->path, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                (unsigned long long)at, (unsigned long long)t->begin);
        at = t->end;
    }
    if (at != f->data_size)
        return jb_fail(err, JB_EPARSE,
            "%s: the last %llu bytes of the data belong to no tensor (the format allows no gaps)",
            f->path, (unsigned long long)(f->data_size - at));
    qsort(f->tensors, (size_t)f->n_tensors, sizeof *f->tensors, by_name);
    for (int i = 1; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
            return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\" appears twice in the header", f->path,
                f->tensors[i].name);
    return 0;
}

static int read_entries(struct st_file *f, struct jb_err *err)
{
    const cJSON *e;
    const int n = cJSON_GetArraySize(f->header);
    f->tensors = calloc(n > 0 ? (size_t)n : 1, sizeof *f->tensors);
    if (!f->tensors)
        return jb_fail(err, JB_ENOMEM, "%s: out of memory", f->path);
    cJSON_ArrayForEach(e, f->header)
    {
        if (strcmp(e->string, "__metadata__") == 0)
            continue;
        int rc = parse_entry(f, e, &f->tensors[f->n_tensors], err);
        if (rc)
            return rc;
        f->n_tensors++;
    }
    return check_tiling(f, err);
}

static int open_file(struct st_file *f, const char *path, const char *name, struct jb_err *err)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->name, sizeof f->name, "%s", name);
    int rc = map_file(f, err);
    if (!rc)
        rc = read_header(f, err);
    return rc ? rc : read_entries(f, err);
}

static struct st_tensor *tensor_in(const struct st_file *f, const char *name)
{
    const struct st_tensor key = { .name = name };
    return f->n_tensors ? bsearch(&key, f->tensors, (size_t)f->n_tensors, sizeof key, by_name)
                        : NULL;
}

/* ---- the set: one file, or the shards an index names -------------------------------------- */

static void close_set(struct st_set *s)
{
    for (int i = 0; i < s->n_files; i++) {
        free(s->files[i].tensors);
        cJSON_Delete(s->files[i].header);
        if (s->files[i].map)
            munmap((void *)s->files[i].map, s->files[i].size);
    }
    cJSON_Delete(s->index);
    s->n_files = 0;
}

static int read_index(struct st_set *s, struct jb_err *err)
{
    char *text;
    size_t len;
    int rc = jb_read_file(s->index_path, MAX_INDEX_BYTES, &text, &len, err);
    if (rc)
        return rc;
    s->index = cJSON_ParseWithLength(text, len);
    free(text);
    s->weight_map = cJSON_GetObjectItemCaseSensitive(s->index, "weight_map");
    if (!cJSON_IsObject(s->weight_map))
        return jb_fail(err, JB_EPARSE, "%s: no \"weight_map\" object", s->index_path);
    return 0;
}

/* A shard's name: a file beside the index, never a path out of the folder. */
static bool is_shard_name(const cJSON *e)
{
    return cJSON_IsString(e) && e->valuestring[0] && !strchr(e->valuestring, '/')
        && strcmp(e->valuestring, ".") != 0 && strcmp(e->valuestring, "..") != 0
        && strlen(e->valuestring) < sizeof((struct st_file *)0)->name;
}

static const struct st_file *shard_named(const struct st_set *s, const char *name)
{
    for (int i = 0; i < s->n_files; i++)
        if (strcmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

/* Opens every shard the weight_map names, once each. */
static int open_shards(struct st_set *s, const char *dir, struct jb_err *err)
{
    char shard[PATH_MAX];
    const cJSON *e;
    cJSON_ArrayForEach(e, s->weight_map)
    {
        int rc = 0;
        if (!is_shard_name(e))
            return jb_fail(err, JB_EPARSE,
                "%s: weight_map[\"%s\"] is not a file name in the folder", s->index_path,
                e->string);
        if (shard_named(s, e->valuestring))
            continue;
        if (s->n_files == MAX_SHARDS)
            return jb_fail(err, JB_ENOTSUP, "%s: more than %d shards", s->index_path, MAX_SHARDS);
        if ((rc = join(shard, dir, e->valuestring, err))
            || (rc = open_file(&s->files[s->n_files++], shard, e->valuestring, err)))
            return rc;
    }
    return 0;
}

/* Every tensor the weight_map places in a shard is there. */
static int check_index(const struct st_set *s, struct jb_err *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, s->weight_map)
    {
        const struct st_file *f = shard_named(s, e->valuestring);
        if (!tensor_in(f, e->string))
            return jb_fail(err, JB_ENOENT, "%s: tensor \"%s\" not found (%s places it there)",
                f->path, e->string, s->index_path);
    }
    return 0;
}

static int open_set(struct st_set *s, const char *dir, struct jb_err *err)
{
    char shard[PATH_MAX];
    int rc;
    memset(s, 0, sizeof *s);
    if (!exists(dir, "model.safetensors.index.json")) {
        s->n_files = 1;
        return (rc = join(shard, dir, "model.safetensors", err))
            ? rc
            : open_file(&s->files[0], shard, "model.safetensors", err);
    }
    if ((rc = join(s->index_path, dir, "model.safetensors.index.json", err))
        || (rc = read_index(s, err)) || (rc = open_shards(s, dir, err)))
        return rc;
    return check_index(s, err);
}

/* The file `name` is read from: the only one, or the shard the weight_map names (NULL when it
 * names none). */
static const struct st_file *file_of(const struct st_set *s, const char *name)
{
    if (!s->weight_map)
        return &s->files[0];
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s->weight_map, name);
    return cJSON_IsString(e) ? shard_named(s, e->valuestring) : NULL;
}

/* ---- the walk: every tensor a config implies, taken and (when loading) converted ---------- */

struct loader {
    struct st_set *set;
    const struct jb_config *c;
    struct jb_model *m; /* the destination; a zeroed stand-in when only checking */
    bool convert;       /* false: check only (jb_safetensors_check) */
    struct jb_err *err;
};

static int expect_shape(const struct st_tensor *t, int64_t rows, int64_t cols, struct jb_err *err)
{
    bool ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols)
                   : (t->ndim == 1 && t->shape[0] == rows);
    if (ok)
        return 0;
    char got[128];
    shape_str(t, got, sizeof got);
    if (cols)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": shape [%s], the config implies [%lld, %lld]", t->file->path,
            t->name, got, (long long)rows, (long long)cols);
    return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\": shape [%s], the config implies [%lld]",
        t->file->path, t->name, got, (long long)rows);
}

/* Finds `name` where the set says it is, checks that jb reads its dtype and that its shape is
 * (rows) (cols 0) or (rows, cols), and marks it used. */
static int take(
    struct loader *ld, const char *name, int64_t rows, int64_t cols, const struct st_tensor **out)
{
    const struct st_file *f = file_of(ld->set, name);
    struct st_tensor *t = f ? tensor_in(f, name) : NULL;
    int rc;
    if (!f)
        return jb_fail(ld->err, JB_ENOENT, "%s: tensor \"%s\" is not in its weight_map",
            ld->set->index_path, name);
    if (!t)
        return jb_fail(ld->err, JB_ENOENT, "%s: tensor \"%s\" not found", f->path, name);
    if (t->dtype >= ST_N_LOADABLE)
        return unsupported_dtype(f, name, st_dtypes[t->dtype].name, ld->err);
    if ((rc = expect_shape(t, rows, cols, ld->err)))
        return rc;
    t->used = true;
    *out = t;
    return 0;
}

/* Source row r of t (cols values) as f32; reads through memcpy since offsets may be unaligned. */
static void source_row(const struct st_tensor *t, int64_t r, int64_t cols, float *out)
{
    const unsigned char *data = t->file->data + t->begin;
    if (t->dtype == ST_F32) {
        memcpy(out, data + (size_t)r * cols * 4, (size_t)cols * 4);
        return;
    }
    const unsigned char *p = data + (size_t)r * cols * 2;
    for (int64_t i = 0; i < cols; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        out[i] = t->dtype == ST_BF16 ? jb_bf16_to_f32(h) : jb_fp16_to_f32(h);
    }
}

/* Takes the (rows, cols) tensor `name`; when converting, into rows [row0, row0 + rows) of dst. */
static int load_matrix(struct loader *ld, const char *name, struct jb_tensor *dst, int64_t row0,
    int64_t rows, int64_t cols)
{
    const struct st_tensor *t;
    int rc = take(ld, name, rows, cols, &t);
    if (rc || !ld->convert)
        return rc;
    JB_ASSERT(dst->cols == cols && row0 + rows <= dst->rows);
    const size_t row_bytes = jb_dtype_row_bytes(dst->dtype, dst->cols);
    const struct jb_kernel_ops *k = ld->m->ops;
#pragma omp parallel
    {
        float *row = malloc((size_t)dst->cols * sizeof(float));
        JB_ASSERT(row);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            void *out = (char *)dst->data + (size_t)(row0 + r) * row_bytes;
            source_row(t, r, dst->cols, row);
            if (dst->dtype == JB_DTYPE_Q8_0)
                k->quantize_q8_0(row, out, dst->cols);
            else
                jb_row_from_f32(dst->dtype, out, row, dst->cols);
        }
        free(row);
    }
    return 0;
}

/* Takes the n-vector `name`; when converting, into dst[at..at + n), adding `plus` to each. */
static int load_vector(
    struct loader *ld, const char *name, float *dst, int64_t at, int64_t n, float plus)
{
    const struct st_tensor *t;
    int rc = take(ld, name, n, 0, &t);
    if (rc || !ld->convert)
        return rc;
    source_row(t, 0, n, dst + at);
    for (int64_t i = 0; i < n; i++)
        dst[at + i] += plus;
    return 0;
}

/* Loads a projection that the checkpoint may store as separate tensors (q/k/v, gate/up) or,
 * for Phi-3, fused; parts[i] lands at rows [sum of earlier sizes, ...). */
static int load_stacked(struct loader *ld, const char *prefix, const char *fused,
    const char *const *parts, const int64_t *sizes, int n_parts, struct jb_tensor *dst, float *bias,
    bool has_bias)
{
    const int64_t cols = ld->c->hidden_size;
    char name[256];
    int rc = 0;
    int64_t rows = 0;
    for (int i = 0; i < n_parts; i++)
        rows += sizes[i];
    if (ld->c->fused_checkpoint) {
        snprintf(name, sizeof name, "%s.%s.weight", prefix, fused);
        return load_matrix(ld, name, dst, 0, rows, cols);
    }
    int64_t row0 = 0;
    for (int i = 0; i < n_parts && !rc; row0 += sizes[i++]) {
        snprintf(name, sizeof name, "%s.%s.weight", prefix, parts[i]);
        rc = load_matrix(ld, name, dst, row0, sizes[i], cols);
        if (!rc && has_bias) {
            snprintf(name, sizeof name, "%s.%s.bias", prefix, parts[i]);
            rc = load_vector(ld, name, bias, row0, sizes[i], 0.0f);
        }
    }
    return rc;
}

/* Takes layer i of the checkpoint; when converting, into w (NULL: check it only). */
static int load_layer(struct loader *ld, int64_t i, struct jb_layer_weights *w)
{
    const struct jb_config *c = ld->c;
    const float norm_plus = c->norm_plus_one ? 1.0f : 0.0f;
    const int64_t d = c->hidden_size, q = c->n_heads * c->head_dim,
                  kv = c->n_kv_heads * c->head_dim;
    const int64_t f = c->intermediate_size;
    char p[128], name[256];
    int rc;
    static const char *const qkv[] = { "q_proj", "k_proj", "v_proj" };
    static const char *const gate_up[] = { "gate_proj", "up_proj" };
    const int64_t qkv_rows[] = { q, kv, kv }, gate_up_rows[] = { f, f };

    snprintf(p, sizeof p, "model.layers.%lld", (long long)i);
    snprintf(name, sizeof name, "%s.input_layernorm.weight", p);
    if ((rc = load_vector(ld, name, w->attn_norm, 0, d, norm_plus)))
        return rc;
    snprintf(name, sizeof name, "%s.self_attn", p);
    if ((rc = load_stacked(ld, name, "qkv_proj", qkv, qkv_rows, 3, &w->wqkv, w->bqkv, c->qkv_bias)))
        return rc;
    snprintf(name, sizeof name, "%s.self_attn.o_proj.weight", p);
    if ((rc = load_matrix(ld, name, &w->wo, 0, d, q)))
        return rc;
    snprintf(name, sizeof name, "%s.self_attn.o_proj.bias", p);
    if (c->o_bias && (rc = load_vector(ld, name, w->bo, 0, d, 0.0f)))
        return rc;
    snprintf(name, sizeof name, "%s.post_attention_layernorm.weight", p);
    if ((rc = load_vector(ld, name, w->ffn_norm, 0, d, norm_plus)))
        return rc;
    snprintf(name, sizeof name, "%s.mlp", p);
    if ((rc = load_stacked(ld, name, "gate_up_proj", gate_up, gate_up_rows, 2, &w->w_gate_up,
             w->b_gate_up, c->mlp_bias)))
        return rc;
    snprintf(name, sizeof name, "%s.mlp.down_proj.weight", p);
    if ((rc = load_matrix(ld, name, &w->w_down, 0, d, f)))
        return rc;
    snprintf(name, sizeof name, "%s.mlp.down_proj.bias", p);
    return c->mlp_bias ? load_vector(ld, name, w->b_down, 0, d, 0.0f) : 0;
}

/* Tensors that carry nothing the forward pass needs. */
static bool ignorable(const struct jb_config *c, const char *name)
{
    const char *suffix = "rotary_emb.inv_freq";
    size_t n = strlen(name), ns = strlen(suffix);
    return (n >= ns && strcmp(name + n - ns, suffix) == 0)
        || (c->tie_word_embeddings && strcmp(name, "lm_head.weight") == 0);
}

/* Every tensor of every file was taken, or is one the forward pass does without. */
static int check_all_used(const struct loader *ld)
{
    const struct st_set *s = ld->set;
    for (int i = 0; i < s->n_files; i++)
        for (int j = 0; j < s->files[i].n_tensors; j++) {
            const struct st_tensor *t = &s->files[i].tensors[j];
            const struct st_file *home = file_of(s, t->name);
            if (t->used || ignorable(ld->c, t->name))
                continue;
            if (s->weight_map && home != &s->files[i])
                return home ? jb_fail(ld->err, JB_EPARSE,
                           "%s: tensor \"%s\" is also here, but %s places it in %s", t->file->path,
                           t->name, s->index_path, home->name)
                            : jb_fail(ld->err, JB_EPARSE,
                                "%s: tensor \"%s\" is not in the weight_map of %s", t->file->path,
                                t->name, s->index_path);
            return jb_fail(ld->err, JB_ENOTSUP,
                "%s: tensor \"%s\" is not part of a %s model with this config (another "
                "architecture?)",
                t->file->path, t->name, ld->c->model_type);
        }
    return 0;
}

static int walk(struct loader *ld)
{
    const struct jb_config *c = ld->c;
    struct jb_model *m = ld->m;
    const float norm_plus = c->norm_plus_one ? 1.0f : 0.0f;
    int rc
        = load_matrix(ld, "model.embed_tokens.weight", &m->embed, 0, c->vocab_size, c->hidden_size);
    /* every layer is checked; under layer sampling only the ones run are converted, each into
     * its slot (layers[k] holds layer jb_config_layer_index(c, k)) */
    const bool convert = ld->convert;
    struct jb_layer_weights none = { 0 };
    for (int64_t i = 0, k = 0; i < c->n_layers && !rc; i++) {
        const bool run = k < jb_config_layers(c) && jb_config_layer_index(c, k) == i;
        ld->convert = convert && run;
        rc = load_layer(ld, i, ld->convert ? &m->layers[k] : &none);
        k += run;
    }
    ld->convert = convert;
    if (!rc)
        rc = load_vector(ld, "model.norm.weight", m->final_norm, 0, c->hidden_size, norm_plus);
    if (!rc && !c->tie_word_embeddings)
        rc = load_matrix(ld, "lm_head.weight", &m->lm_head, 0, c->vocab_size, c->hidden_size);
    return rc ? rc : check_all_used(ld);
}

/* Opens dir's checkpoint and walks it for config c, converting into m when convert. */
static int read_checkpoint(struct jb_model *m, const struct jb_config *c, bool convert,
    const char *dir, struct jb_err *err)
{
    struct st_set *set = calloc(1, sizeof *set);
    if (!set)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    struct loader ld = { .set = set, .c = c, .m = m, .convert = convert, .err = err };
    int rc = open_set(set, dir, err);
    if (!rc)
        rc = walk(&ld);
    if (!rc && convert)
        snprintf(m->weights_source, sizeof m->weights_source, "%s/%s", dir,
            set->weight_map ? "model.safetensors.index.json" : "model.safetensors");
    close_set(set);
    free(set);
    return rc;
}

int jb_model_load_safetensors(struct jb_model *m, const char *dir, struct jb_err *err)
{
    return read_checkpoint(m, &m->cfg, true, dir, err);
}

int jb_safetensors_check(const struct jb_config *c, const char *dir, struct jb_err *err)
{
    struct jb_model none = { 0 };
    return read_checkpoint(&none, c, false, dir, err);
}
