/*
 * config.c — reads a Hugging Face config.json (with cJSON) into struct jb_config.
 *
 * Key names and defaults are those of transformers' LlamaConfig, Qwen2Config, GemmaConfig,
 * MistralConfig and Phi3Config. Every rejected value names the file, the field and what was
 * expected, so a typo in a hand-written config is one line to fix.
 */
#include "jb_file.h"
#include "jb_model.h"
#include "layout.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const cJSON *root;
    const char *source;
    struct jb_err *err;
};

static const char *json_type(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "null";
}

static const cJSON *field(const struct reader *r, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static int bad(const struct reader *r, const char *key, const char *expected, const cJSON *got)
{
    if (!got)
        return jb_fail(
            r->err, JB_EPARSE, "%s: field \"%s\": missing (expected %s)", r->source, key, expected);
    if (cJSON_IsNumber(got))
        return jb_fail(r->err, JB_EPARSE, "%s: field \"%s\": expected %s, got %.17g", r->source,
            key, expected, got->valuedouble);
    if (cJSON_IsString(got))
        return jb_fail(r->err, JB_EPARSE, "%s: field \"%s\": expected %s, got \"%s\"", r->source,
            key, expected, got->valuestring);
    return jb_fail(r->err, JB_EPARSE, "%s: field \"%s\": expected %s, got %s", r->source, key,
        expected, json_type(got));
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses an object (r->root, named prefix, "" at the top level) holding a key twice: cJSON
 * would hand back the first value where Hugging Face's loader (Python's json) keeps the last,
 * so the file means different things to the two; one of them is a mistake. */
static int check_unique_keys(const struct reader *r, const char *prefix)
{
    size_t n = 0, i = 0;
    for (const cJSON *k = r->root->child; k; k = k->next)
        n++;
    if (n < 2)
        return 0;
    const char **keys = malloc(n * sizeof *keys);
    if (!keys)
        return jb_fail(r->err, JB_ENOMEM, "%s: out of memory", r->source);
    for (const cJSON *k = r->root->child; k; k = k->next)
        keys[i++] = k->string ? k->string : "";
    qsort(keys, n, sizeof *keys, by_key);
    int rc = 0;
    for (i = 1; i < n && !rc; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            rc = jb_fail(r->err, JB_EPARSE,
                "%s: field \"%s%s\": given more than once (Hugging Face keeps the last value, "
                "joulebench would read the first: remove the one that is wrong)",
                r->source, prefix, keys[i]);
    free(keys);
    return rc;
}

/* An integer in [min, max]; absent: def when optional, an error when required. The maxima are
 * far above any published model and keep each product of two fields within 64 bits; what the
 * fields describe together is bounded by check_size. */
static int get_int(const struct reader *r, const char *key, bool required, int64_t def,
    int64_t min, int64_t max, int64_t *out)
{
    const cJSON *v = field(r, key);
    char expected[80];
    snprintf(expected, sizeof expected, "an integer in [%lld, %lld]", (long long)min,
        (long long)max);
    if (!v) {
        if (required)
            return bad(r, key, expected, NULL);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min
        || v->valuedouble > (double)max)
        return bad(r, key, expected, v);
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* A finite number > 0. */
static int get_positive(const struct reader *r, const char *key, double def, double *out)
{
    const cJSON *v = field(r, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0.0)
        return bad(r, key, "a positive number", v);
    *out = v->valuedouble;
    return 0;
}

static int get_bool(const struct reader *r, const char *key, bool def, bool *out)
{
    const cJSON *v = field(r, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(v))
        return bad(r, key, "true or false", v);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A string from `allowed` (NULL-terminated); *index is its position, or def when absent. */
static int get_choice(
    const struct reader *r, const char *key, const char *const *allowed, int def, int *index)
{
    const cJSON *v = field(r, key);
    char expected[256] = "one of";
    for (int i = 0; allowed[i]; i++) {
        size_t len = strlen(expected);
        snprintf(expected + len, sizeof expected - len, "%s \"%s\"", i ? "," : "", allowed[i]);
    }
    if (!v) {
        *index = def;
        return 0;
    }
    if (cJSON_IsString(v))
        for (int i = 0; allowed[i]; i++)
            if (strcmp(v->valuestring, allowed[i]) == 0) {
                *index = i;
                return 0;
            }
    return bad(r, key, expected, v);
}

/* ---- architecture families --------------------------------------------------------------- */

static const char *const model_types[] = { "llama", "mistral", "qwen2", "gemma", "phi3", NULL };
enum { MT_LLAMA, MT_MISTRAL, MT_QWEN2, MT_GEMMA, MT_PHI3 };

static const char *const act_names[]
    = { "silu", "gelu_pytorch_tanh", "gelu_new", "gelu_fast", "gelu", NULL };
static const enum jb_act act_values[]
    = { JB_ACT_SILU, JB_ACT_GELU_TANH, JB_ACT_GELU_TANH, JB_ACT_GELU_TANH, JB_ACT_GELU };

static int read_activation(const struct reader *r, int mt, struct jb_config *c)
{
    int a;
    /* Gemma's modeling code uses hidden_activation, and gelu_pytorch_tanh when it is unset,
     * whatever hidden_act says (transformers >= 4.40). */
    const char *key = mt == MT_GEMMA ? "hidden_activation" : "hidden_act";
    int rc = get_choice(r, key, act_names, mt == MT_GEMMA ? 1 : 0, &a);
    if (rc == 0 && mt == MT_GEMMA) {
        int ignored;
        rc = get_choice(r, "hidden_act", act_names, 0, &ignored); /* still validated */
    }
    if (rc == 0)
        c->act = act_values[a];
    return rc;
}

static int read_rope_scaling(const struct reader *r, struct jb_config *c)
{
    const cJSON *rs = field(r, "rope_scaling");
    c->rope_scaling = JB_ROPE_DEFAULT;
    c->rope_factor = 1.0;
    if (!rs)
        return 0;
    if (!cJSON_IsObject(rs))
        return bad(r, "rope_scaling", "an object or null", rs);

    static const char *const kinds[] = { "default", "linear", "llama3", NULL };
    struct reader sub = { rs, r->source, r->err };
    char key[64];
    int kind, rc;
    if ((rc = check_unique_keys(&sub, "rope_scaling.")))
        return rc;
    const char *type_key = field(&sub, "rope_type") ? "rope_type" : "type";
    snprintf(key, sizeof key, "rope_scaling.%s", type_key);
    if (!field(&sub, type_key))
        return bad(r, key, "one of \"default\", \"linear\", \"llama3\"", NULL);
    if (get_choice(&sub, type_key, kinds, 0, &kind))
        return jb_fail(r->err, JB_ENOTSUP,
            "%s: field \"%s\": \"%s\" is not supported "
            "(supported: default, linear, llama3)",
            r->source, key,
            cJSON_IsString(field(&sub, type_key)) ? field(&sub, type_key)->valuestring : "?");
    c->rope_scaling = (enum jb_rope_scaling)kind;
    if (kind == 0)
        return 0;
    if ((rc = get_positive(&sub, "factor", 0.0, &c->rope_factor)) || c->rope_factor == 0.0)
        return rc ? rc : bad(r, "rope_scaling.factor", "a positive number", NULL);
    if (kind == JB_ROPE_LLAMA3) {
        const struct {
            const char *key;
            double *out;
        } need[] = { { "low_freq_factor", &c->rope_low_freq_factor },
            { "high_freq_factor", &c->rope_high_freq_factor } };
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
            snprintf(key, sizeof key, "rope_scaling.%s", need[i].key);
            if (!field(&sub, need[i].key))
                return bad(r, key, "a positive number", NULL);
            if ((rc = get_positive(&sub, need[i].key, 0.0, need[i].out)))
                return rc;
        }
        if (c->rope_high_freq_factor <= c->rope_low_freq_factor)
            return jb_fail(r->err, JB_EPARSE,
                "%s: field \"rope_scaling.high_freq_factor\": "
                "must exceed low_freq_factor (%g), got %g",
                r->source, c->rope_low_freq_factor, c->rope_high_freq_factor);
        if ((rc = get_int(
                 &sub, "original_max_position_embeddings", true, 0, 1, 1 << 26, &c->rope_original_max_pos)))
            return rc;
    }
    return 0;
}

static int read_shape(const struct reader *r, struct jb_config *c)
{
    int rc;
    if ((rc = get_int(r, "hidden_size", true, 0, 1, 1 << 20, &c->hidden_size))
        || (rc = get_int(r, "intermediate_size", true, 0, 1, 1 << 22, &c->intermediate_size))
        || (rc = get_int(r, "num_hidden_layers", true, 0, 1, 1 << 14, &c->n_layers))
        || (rc = get_int(r, "num_attention_heads", true, 0, 1, 1 << 16, &c->n_heads))
        || (rc = get_int(r, "num_key_value_heads", false, c->n_heads, 1, 1 << 16, &c->n_kv_heads))
        || (rc = get_int(r, "vocab_size", true, 0, 1, 1 << 24, &c->vocab_size))
        || (rc
            = get_int(r, "max_position_embeddings", false, 2048, 1, 1 << 26, &c->max_position_embeddings)))
        return rc;
    if (c->n_heads % c->n_kv_heads != 0)
        return jb_fail(r->err, JB_EPARSE,
            "%s: field \"num_key_value_heads\": must divide "
            "num_attention_heads (%lld), got %lld",
            r->source, (long long)c->n_heads, (long long)c->n_kv_heads);
    if (!field(r, "head_dim") && c->hidden_size % c->n_heads != 0)
        return jb_fail(r->err, JB_EPARSE,
            "%s: field \"hidden_size\": %lld is not divisible by "
            "num_attention_heads (%lld) and no head_dim is given",
            r->source, (long long)c->hidden_size, (long long)c->n_heads);
    if ((rc = get_int(r, "head_dim", false, c->hidden_size / c->n_heads, 2, 1 << 16, &c->head_dim)))
        return rc;
    if (c->head_dim % 2 != 0)
        return jb_fail(r->err, JB_EPARSE,
            "%s: field \"head_dim\": rotary embedding needs an "
            "even head dimension, got %lld",
            r->source, (long long)c->head_dim);
    return 0;
}

/* Every field is within its range, but together they may still describe weights no machine
 * holds and sizes that would wrap past 64 bits: refused at JB_MODEL_MAX_BYTES in the storage
 * type that takes most (f32, or a block type for short rows: q4_K's 144-byte super-block holds
 * rows of up to 256), naming the fields. */
static int check_size(const struct reader *r, const struct jb_config *c)
{
    uint64_t most = 0;
    enum jb_dtype worst = JB_DTYPE_F32;
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        const uint64_t bytes = jb__weight_bytes(c, (enum jb_dtype)t);
        if (bytes > most) {
            most = bytes;
            worst = (enum jb_dtype)t;
        }
    }
    if (most <= JB_MODEL_MAX_BYTES)
        return 0;
    char size[JB_FMT_BYTES_LEN];
    return jb_fail(r->err, JB_ERANGE,
        "%s: fields \"hidden_size\" (%lld), \"intermediate_size\" (%lld), "
        "\"num_hidden_layers\" (%lld), \"num_attention_heads\" (%lld), "
        "\"num_key_value_heads\" (%lld), \"head_dim\" (%lld), \"vocab_size\" (%lld): the "
        "weights would take %s in %s, more than the 64 PiB a model may have",
        r->source, (long long)c->hidden_size, (long long)c->intermediate_size,
        (long long)c->n_layers, (long long)c->n_heads, (long long)c->n_kv_heads,
        (long long)c->head_dim, (long long)c->vocab_size, jb_fmt_bytes(most, size, sizeof size),
        jb_dtype_name(worst));
}

static int read_config(const struct reader *r, struct jb_config *c)
{
    int rc, mt;
    static const char *const torch_dtypes[] = { "float32", "bfloat16", "float16", NULL };
    int ignored;
    double eps;

    if ((rc = check_unique_keys(r, ""))
        || (rc = get_choice(r, "model_type", model_types, MT_LLAMA, &mt)))
        return rc;
    snprintf(c->model_type, sizeof c->model_type, "%s", model_types[mt]);
    if ((rc = read_shape(r, c)) || (rc = read_activation(r, mt, c))
        || (rc = get_positive(r, "rope_theta", 10000.0, &c->rope_theta))
        || (rc = get_positive(r, "rms_norm_eps", 1e-6, &eps))
        || (rc = get_bool(r, "tie_word_embeddings", mt == MT_GEMMA, &c->tie_word_embeddings))
        || (rc = get_bool(r, "attention_bias", false, &c->o_bias))
        || (rc = get_bool(r, "mlp_bias", false, &c->mlp_bias))
        || (rc = get_choice(r, "torch_dtype", torch_dtypes, 0, &ignored))
        || (rc = read_rope_scaling(r, c)))
        return rc;
    c->norm_eps = (float)eps;
    /* Llama's attention_bias covers q, k, v and o; Qwen2 always biases q, k, v and never o. */
    c->qkv_bias = c->o_bias || mt == MT_QWEN2;
    c->embed_scale_sqrt_dim = mt == MT_GEMMA;
    c->norm_plus_one = mt == MT_GEMMA;
    c->fused_checkpoint = mt == MT_PHI3;
    return check_size(r, c);
}

/* The line (from 1) byte off of json is on. */
static int line_of(const char *json, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += json[i] == '\n';
    return line;
}

int jb_config_parse(
    const char *json, size_t len, const char *source, struct jb_config *out, struct jb_err *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        return jb_fail(err, JB_EPARSE, "%s:%d: not valid JSON (near byte %zu)", source,
            line_of(json, off < len ? off : len), off);
    }
    memset(out, 0, sizeof *out);
    int rc;
    size_t rest = end && end >= json ? (size_t)(end - json) : len;
    while (rest < len && strchr(" \t\r\n", json[rest]) && json[rest] != '\0')
        rest++;
    if (rest < len)
        rc = jb_fail(err, JB_EPARSE, "%s:%d: unexpected text after the JSON object (byte %zu)",
            source, line_of(json, rest), rest);
    else if (!cJSON_IsObject(root))
        rc = jb_fail(err, JB_EPARSE, "%s: expected a JSON object at the top level", source);
    else
        rc = read_config(&(struct reader) { root, source, err }, out);
    cJSON_Delete(root);
    return rc;
}

int jb_config_load(const char *path, const char *name, struct jb_config *out, struct jb_err *err)
{
    char *text;
    size_t len;
    int rc = jb_read_file(path, JB_CONFIG_MAX_BYTES, &text, &len, err);
    if (rc)
        return rc;
    rc = jb_config_parse(text, len, path, out, err);
    free(text);
    if (rc == 0)
        snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    return rc;
}

/* Counted in 64 bits without wrapping (jb__mul, jb__add): a config jb_config_parse accepted
 * is far from the limit (JB_MODEL_MAX_BYTES), a hand-made one gets INT64_MAX. */
int64_t jb_config_params(const struct jb_config *c)
{
    const uint64_t d = jb__count(c->hidden_size), f = jb__count(c->intermediate_size);
    const uint64_t hd = jb__count(c->head_dim);
    const uint64_t q = jb__mul(jb__count(c->n_heads), hd),
                   kv = jb__mul(jb__count(c->n_kv_heads), hd);
    const uint64_t qkv = jb__add(q, jb__mul(2, kv));
    uint64_t layer = jb__mul(2, d);                      /* input and post-attention norms */
    layer = jb__add(layer, jb__mul(jb__add(qkv, q), d)); /* q, k, v, o projections */
    layer = jb__add(layer, jb__mul(jb__mul(3, f), d));   /* gate, up, down */
    if (c->qkv_bias)
        layer = jb__add(layer, qkv);
    if (c->o_bias)
        layer = jb__add(layer, d);
    if (c->mlp_bias)
        layer = jb__add(layer, jb__add(jb__mul(2, f), d));
    const uint64_t embed = jb__mul(jb__count(c->vocab_size), d);
    uint64_t total = jb__add(jb__add(embed, jb__mul(jb__count(c->n_layers), layer)), d);
    if (!c->tie_word_embeddings)
        total = jb__add(total, embed);
    return total > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)total;
}

int64_t jb_config_layer_index(const struct jb_config *c, int64_t k)
{
    const int64_t K = jb_config_layers(c), L = c->n_layers;
    if (K >= L || K < 2)
        return k;
    /* round(k (L - 1) / (K - 1)) in integers: exact, and k = K - 1 gives L - 1 */
    return (2 * k * (L - 1) + (K - 1)) / (2 * (K - 1));
}

int jb_config_sample_layers(struct jb_config *c, int64_t k, struct jb_err *err)
{
    if (k < 2 || k > c->n_layers)
        return jb_fail(err, JB_ERANGE,
            "%s: cannot run %lld of its %lld decoder layers (layer sampling needs 2 to %lld)",
            c->name[0] ? c->name : "model", (long long)k, (long long)c->n_layers,
            (long long)c->n_layers);
    c->layers_run = k < c->n_layers ? k : 0;
    return 0;
}
