/*
 * safetensors.c — real weights: Hugging Face safetensors files, mmap'd and converted into the
 * model's storage type.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__": {...}}, then the tensor bytes. A sharded
 * checkpoint adds model.safetensors.index.json whose "weight_map" names each tensor's file.
 * Every expected tensor must be present with the shape the config implies; a tensor the
 * forward pass would not use is an error too, so a checkpoint of another architecture is
 * refused rather than silently half-used.
 */
#include "jb_model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SHARDS 256

enum st_dtype { ST_F32, ST_BF16, ST_F16 };

struct st_file {
    char path[PATH_MAX];
    char name[256]; /* as the index's weight_map names it */
    const unsigned char *map;
    size_t size;
    cJSON *header;
    const unsigned char *data; /* start of the byte buffer */
    size_t data_size;
};

struct st_set {
    struct st_file files[MAX_SHARDS];
    int n_files;
    cJSON *weight_map; /* owned by index; NULL for a single file */
    cJSON *index;
    char index_path[PATH_MAX];
};

struct st_tensor {
    const struct st_file *file;
    enum st_dtype dtype;
    int ndim;
    int64_t shape[4];
    const unsigned char *data;
};

bool jb_safetensors_present(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (access(path, R_OK) == 0)
        return true;
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    return access(path, R_OK) == 0;
}

/* ---- files ------------------------------------------------------------------------------- */

/* Maps path read-only; shorter than min_size is an error saying it is not a `what`. */
static int map_file(const char *path, off_t min_size, const char *what, const unsigned char **map,
    size_t *size, struct jb_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return jb_fail(err, JB_ENOENT, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || st.st_size < min_size || st.st_size == 0) {
        close(fd);
        return jb_fail(err, JB_EPARSE, "%s: too short to be %s", path, what);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return jb_fail(err, JB_EIO, "%s: cannot mmap: %s", path, strerror(errno));
    *map = p;
    *size = (size_t)st.st_size;
    return 0;
}

static int open_file(struct st_file *f, const char *path, const char *name, struct jb_err *err)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->name, sizeof f->name, "%s", name);
    int rc = map_file(path, 8, "a safetensors file", &f->map, &f->size, err);
    if (rc)
        return rc;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | f->map[i];
    if (n > f->size - 8)
        return jb_fail(err, JB_EPARSE, "%s: header length %llu exceeds the file size %zu", path,
            (unsigned long long)n, f->size);
    f->header = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)n);
    if (!cJSON_IsObject(f->header))
        return jb_fail(err, JB_EPARSE, "%s: header is not a JSON object", path);
    f->data = f->map + 8 + n;
    f->data_size = f->size - 8 - (size_t)n;
    return 0;
}

static void close_set(struct st_set *s)
{
    for (int i = 0; i < s->n_files; i++) {
        cJSON_Delete(s->files[i].header);
        if (s->files[i].map)
            munmap((void *)s->files[i].map, s->files[i].size);
    }
    cJSON_Delete(s->index);
    s->n_files = 0;
}

static int read_index(struct st_set *s, const char *path, struct jb_err *err)
{
    const unsigned char *map;
    size_t size;
    snprintf(s->index_path, sizeof s->index_path, "%s", path);
    int rc = map_file(path, 1, "a safetensors index", &map, &size, err);
    if (rc)
        return rc;
    s->index = cJSON_ParseWithLength((const char *)map, size);
    munmap((void *)map, size);
    s->weight_map = cJSON_GetObjectItemCaseSensitive(s->index, "weight_map");
    if (!cJSON_IsObject(s->weight_map))
        return jb_fail(err, JB_EPARSE, "%s: no \"weight_map\" object", path);
    return 0;
}

static int open_set(struct st_set *s, const char *dir, struct jb_err *err)
{
    char index[PATH_MAX], shard[PATH_MAX];
    memset(s, 0, sizeof *s);
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir);
    if (access(index, R_OK) != 0) {
        snprintf(shard, sizeof shard, "%s/model.safetensors", dir);
        s->n_files = 1;
        return open_file(&s->files[0], shard, "model.safetensors", err);
    }
    int rc = read_index(s, index, err);
    const cJSON *e;
    cJSON_ArrayForEach(e, s->weight_map)
    {
        if (rc)
            break;
        if (!cJSON_IsString(e) || strlen(e->valuestring) >= sizeof s->files[0].name)
            return jb_fail(
                err, JB_EPARSE, "%s: weight_map[\"%s\"] is not a file name", index, e->string);
        bool seen = false;
        for (int i = 0; i < s->n_files && !seen; i++)
            seen = strcmp(s->files[i].name, e->valuestring) == 0;
        if (seen)
            continue;
        if (s->n_files == MAX_SHARDS)
            return jb_fail(err, JB_ENOTSUP, "%s: more than %d shards", index, MAX_SHARDS);
        snprintf(shard, sizeof shard, "%s/%s", dir, e->valuestring);
        rc = open_file(&s->files[s->n_files++], shard, e->valuestring, err);
    }
    return rc;
}

/* ---- tensors ----------------------------------------------------------------------------- */

static const struct st_file *file_of(const struct st_set *s, const char *name)
{
    if (!s->weight_map)
        return &s->files[0];
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s->weight_map, name);
    if (!cJSON_IsString(e))
        return NULL;
    for (int i = 0; i < s->n_files; i++)
        if (strcmp(s->files[i].name, e->valuestring) == 0)
            return &s->files[i];
    return NULL;
}

/* A non-negative integer below 2^50 (a dimension or a byte offset). */
static bool is_count(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1125899906842624.0
        && v->valuedouble == floor(v->valuedouble);
}

static int parse_entry(const struct st_file *f, const char *name, const cJSON *e,
    struct st_tensor *t, struct jb_err *err)
{
    static const char *const names[] = { "F32", "BF16", "F16" };
    static const size_t sizes[] = { 4, 2, 2 };
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    int k = -1;
    for (int i = 0; i < 3 && cJSON_IsString(dt); i++)
        if (strcmp(dt->valuestring, names[i]) == 0)
            k = i;
    if (k < 0)
        return jb_fail(err, JB_ENOTSUP,
            "%s: tensor \"%s\": dtype %s is not supported (F32, "
            "BF16 or F16)",
            f->path, name, cJSON_IsString(dt) ? dt->valuestring : "missing");
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > 4 || !cJSON_IsArray(off)
        || cJSON_GetArraySize(off) != 2)
        return jb_fail(
            err, JB_EPARSE, "%s: tensor \"%s\": malformed shape or data_offsets", f->path, name);
    t->file = f;
    t->dtype = (enum st_dtype)k;
    t->ndim = cJSON_GetArraySize(shape);
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        const cJSON *v = cJSON_GetArrayItem(shape, i);
        if (!is_count(v))
            return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\": bad shape", f->path, name);
        t->shape[i] = (int64_t)v->valuedouble;
        numel *= (uint64_t)t->shape[i];
    }
    if (!is_count(cJSON_GetArrayItem(off, 0)) || !is_count(cJSON_GetArrayItem(off, 1)))
        return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\": data_offsets are not byte offsets",
            f->path, name);
    const double b = cJSON_GetArrayItem(off, 0)->valuedouble;
    const double end = cJSON_GetArrayItem(off, 1)->valuedouble;
    if (end < b || end > (double)f->data_size || end - b != (double)(numel * sizes[k]))
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": data_offsets [%.0f, %.0f] do not "
            "match its shape and dtype or lie outside the file",
            f->path, name, b, end);
    t->data = f->data + (size_t)b;
    return 0;
}

static int find_tensor(
    const struct st_set *s, const char *name, struct st_tensor *t, struct jb_err *err)
{
    const struct st_file *f = file_of(s, name);
    const cJSON *e = f ? cJSON_GetObjectItemCaseSensitive(f->header, name) : NULL;
    if (!f)
        return jb_fail(err, JB_ENOENT, "%s: tensor \"%s\" is not in its weight_map",
            s->index_path, name);
    if (!e)
        return jb_fail(err, JB_ENOENT, "%s: tensor \"%s\" not found", f->path, name);
    return parse_entry(f, name, e, t, err);
}

/* Source row r of t (cols values) as f32; reads through memcpy since offsets may be unaligned. */
static void source_row(const struct st_tensor *t, int64_t r, int64_t cols, float *out)
{
    if (t->dtype == ST_F32) {
        memcpy(out, t->data + (size_t)r * cols * 4, (size_t)cols * 4);
        return;
    }
    const unsigned char *p = t->data + (size_t)r * cols * 2;
    for (int64_t i = 0; i < cols; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        out[i] = t->dtype == ST_BF16 ? jb_bf16_to_f32(h) : jb_fp16_to_f32(h);
    }
}

/* ---- loading into the model ------------------------------------------------------------- */

struct loader {
    const struct st_set *set;
    struct jb_model *m;
    char **used; /* names consumed, to find tensors the model would not use */
    int n_used, cap_used;
    struct jb_err *err;
};

static int note_used(struct loader *ld, const char *name)
{
    if (ld->n_used == ld->cap_used) {
        int cap = ld->cap_used ? 2 * ld->cap_used : 256;
        char **nu = realloc(ld->used, (size_t)cap * sizeof *nu);
        if (!nu)
            return jb_fail(ld->err, JB_ENOMEM, "out of memory");
        ld->used = nu;
        ld->cap_used = cap;
    }
    ld->used[ld->n_used] = strdup(name);
    return ld->used[ld->n_used++] ? 0 : jb_fail(ld->err, JB_ENOMEM, "out of memory");
}

static int expect_shape(
    const struct st_tensor *t, const char *name, int64_t rows, int64_t cols, struct jb_err *err)
{
    bool ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols)
                   : (t->ndim == 1 && t->shape[0] == rows);
    if (ok)
        return 0;
    char got[96] = "";
    for (int i = 0; i < t->ndim; i++) {
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    }
    if (cols)
        return jb_fail(err, JB_EPARSE,
            "%s: tensor \"%s\": shape [%s], the config implies "
            "[%lld, %lld]",
            t->file->path, name, got, (long long)rows, (long long)cols);
    return jb_fail(err, JB_EPARSE, "%s: tensor \"%s\": shape [%s], the config implies [%lld]",
        t->file->path, name, got, (long long)rows);
}

/* Copies the (rows, dst->cols) tensor `name` into rows [row0, row0 + rows) of dst. */
static int load_matrix(
    struct loader *ld, const char *name, struct jb_tensor *dst, int64_t row0, int64_t rows)
{
    struct st_tensor t;
    int rc = find_tensor(ld->set, name, &t, ld->err);
    if (rc || (rc = expect_shape(&t, name, rows, dst->cols, ld->err)) || (rc = note_used(ld, name)))
        return rc;
    const size_t row_bytes = jb_dtype_row_bytes(dst->dtype, dst->cols);
    const struct jb_kernel_ops *k = ld->m->ops;
#pragma omp parallel
    {
        float *row = malloc((size_t)dst->cols * sizeof(float));
        JB_ASSERT(row);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            void *out = (char *)dst->data + (size_t)(row0 + r) * row_bytes;
            source_row(&t, r, dst->cols, row);
            if (dst->dtype == JB_DTYPE_Q8_0)
                k->quantize_q8_0(row, out, dst->cols);
            else
                jb_row_from_f32(dst->dtype, out, row, dst->cols);
        }
        free(row);
    }
    return 0;
}

/* Copies the n-vector `name` into dst[0..n), adding `plus` to each value. */
static int load_vector(struct loader *ld, const char *name, float *dst, int64_t n, float plus)
{
    struct st_tensor t;
    int rc = find_tensor(ld->set, name, &t, ld->err);
    if (rc || (rc = expect_shape(&t, name, n, 0, ld->err)) || (rc = note_used(ld, name)))
        return rc;
    source_row(&t, 0, n, dst);
    for (int64_t i = 0; i < n; i++)
        dst[i] += plus;
    return 0;
}

/* Loads a projection that the checkpoint may store as separate tensors (q/k/v, gate/up) or,
 * for Phi-3, fused; parts[i] lands at rows [sum of earlier sizes, ...). */
static int load_stacked(struct loader *ld, const char *prefix, const char *fused,
    const char *const *parts, const int64_t *sizes, int n_parts, struct jb_tensor *dst, float *bias,
    bool has_bias)
{
    char name[256];
    int rc = 0;
    if (ld->m->cfg.fused_checkpoint) {
        snprintf(name, sizeof name, "%s.%s.weight", prefix, fused);
        return load_matrix(ld, name, dst, 0, dst->rows);
    }
    int64_t row0 = 0;
    for (int i = 0; i < n_parts && !rc; row0 += sizes[i++]) {
        snprintf(name, sizeof name, "%s.%s.weight", prefix, parts[i]);
        rc = load_matrix(ld, name, dst, row0, sizes[i]);
        if (!rc && has_bias) {
            snprintf(name, sizeof name, "%s.%s.bias", prefix, parts[i]);
            rc = load_vector(ld, name, bias + row0, sizes[i], 0.0f);
        }
    }
    return rc;
}

static int load_layer(struct loader *ld, int64_t i)
{
    const struct jb_config *c = &ld->m->cfg;
    struct jb_layer_weights *w = &ld->m->layers[i];
    const float norm_plus = c->norm_plus_one ? 1.0f : 0.0f;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    const int64_t f = c->intermediate_size;
    char p[128], name[256];
    int rc;
    static const char *const qkv[] = { "q_proj", "k_proj", "v_proj" };
    static const char *const gate_up[] = { "gate_proj", "up_proj" };
    const int64_t qkv_rows[] = { q, kv, kv }, gate_up_rows[] = { f, f };

    snprintf(p, sizeof p, "model.layers.%lld", (long long)i);
    snprintf(name, sizeof name, "%s.input_layernorm.weight", p);
    if ((rc = load_vector(ld, name, w->attn_norm, c->hidden_size, norm_plus)))
        return rc;
    snprintf(name, sizeof name, "%s.self_attn", p);
    if ((rc = load_stacked(ld, name, "qkv_proj", qkv, qkv_rows, 3, &w->wqkv, w->bqkv, c->qkv_bias)))
        return rc;
    snprintf(name, sizeof name, "%s.self_attn.o_proj.weight", p);
    if ((rc = load_matrix(ld, name, &w->wo, 0, c->hidden_size)))
        return rc;
    snprintf(name, sizeof name, "%s.self_attn.o_proj.bias", p);
    if (c->o_bias && (rc = load_vector(ld, name, w->bo, c->hidden_size, 0.0f)))
        return rc;
    snprintf(name, sizeof name, "%s.post_attention_layernorm.weight", p);
    if ((rc = load_vector(ld, name, w->ffn_norm, c->hidden_size, norm_plus)))
        return rc;
    snprintf(name, sizeof name, "%s.mlp", p);
    if ((rc = load_stacked(ld, name, "gate_up_proj", gate_up, gate_up_rows, 2, &w->w_gate_up,
             w->b_gate_up, c->mlp_bias)))
        return rc;
    snprintf(name, sizeof name, "%s.mlp.down_proj.weight", p);
    if ((rc = load_matrix(ld, name, &w->w_down, 0, c->hidden_size)))
        return rc;
    snprintf(name, sizeof name, "%s.mlp.down_proj.bias", p);
    return c->mlp_bias ? load_vector(ld, name, w->b_down, c->hidden_size, 0.0f) : 0;
}

static bool was_used(const struct loader *ld, const char *name)
{
    for (int i = 0; i < ld->n_used; i++)
        if (strcmp(ld->used[i], name) == 0)
            return true;
    return false;
}

/* Tensors that carry nothing the forward pass needs. */
static bool ignorable(const struct jb_config *c, const char *name)
{
    const char *suffix = "rotary_emb.inv_freq";
    size_t n = strlen(name), ns = strlen(suffix);
    return strcmp(name, "__metadata__") == 0 || (n >= ns && strcmp(name + n - ns, suffix) == 0)
        || (c->tie_word_embeddings && strcmp(name, "lm_head.weight") == 0);
}

static int check_all_used(const struct loader *ld)
{
    for (int i = 0; i < ld->set->n_files; i++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, ld->set->files[i].header)
        {
            if (!ignorable(&ld->m->cfg, e->string) && !was_used(ld, e->string))
                return jb_fail(ld->err, JB_ENOTSUP,
                    "%s: tensor \"%s\" is not part of a %s "
                    "model with this config (another architecture?)",
                    ld->set->files[i].path, e->string, ld->m->cfg.model_type);
        }
    }
    return 0;
}

int jb_model_load_safetensors(struct jb_model *m, const char *dir, struct jb_err *err)
{
    struct st_set *set = calloc(1, sizeof *set);
    struct loader ld = { set, m, NULL, 0, 0, err };
    const struct jb_config *c = &m->cfg;
    int rc = set ? open_set(set, dir, err) : jb_fail(err, JB_ENOMEM, "out of memory");

    if (!rc)
        rc = load_matrix(&ld, "model.embed_tokens.weight", &m->embed, 0, c->vocab_size);
    for (int64_t i = 0; i < c->n_layers && !rc; i++)
        rc = load_layer(&ld, i);
    if (!rc)
        rc = load_vector(&ld, "model.norm.weight", m->final_norm, c->hidden_size,
            c->norm_plus_one ? 1.0f : 0.0f);
    if (!rc && !c->tie_word_embeddings)
        rc = load_matrix(&ld, "lm_head.weight", &m->lm_head, 0, c->vocab_size);
    if (!rc)
        rc = check_all_used(&ld);
    if (!rc)
        snprintf(m->weights_source, sizeof m->weights_source, "%s/%s", dir,
            set->weight_map ? "model.safetensors.index.json" : "model.safetensors");
    for (int i = 0; i < ld.n_used; i++)
        free(ld.used[i]);
    free(ld.used);
    if (set)
        close_set(set);
    free(set);
    return rc;
}
