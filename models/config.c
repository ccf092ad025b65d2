/*
 * config.c — reads a Hugging Face config.json (with cJSON) into struct jb_config.
 *
 * Key names and defaults are those of transformers' LlamaConfig, Qwen2Config, GemmaConfig,
 * MistralConfig and Phi3Config. Every rejected value names the file, the field and what was
 * expected, so a typo in a hand-written config is one line to fix.
 */
#include "jb_model.h"

#include <cjson/cJSON.h>
#include <errno.h>
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

/* An integer in [min, max]; absent: def when optional, an error when required. The maxima are
 * far above any published model and keep every size product within 64 bits. */
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

static int read_config(const struct reader *r, struct jb_config *c)
{
    int rc, mt;
    static const char *const torch_dtypes[] = { "float32", "bfloat16", "float16", NULL };
    int ignored;
    double eps;

    if ((rc = get_choice(r, "model_type", model_types, MT_LLAMA, &mt)))
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
    return 0;
}

int jb_config_parse(
    const char *json, size_t len, const char *source, struct jb_config *out, struct jb_err *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        int line = 1;
        for (size_t i = 0; i < off && i < len; i++)
            line += json[i] == '\n';
        return jb_fail(err, JB_EPARSE, "%s:%d: not valid JSON (near byte %zu)", source, line, off);
    }
    memset(out, 0, sizeof *out);
    int rc;
    if (!cJSON_IsObject(root))
        rc = jb_fail(err, JB_EPARSE, "%s: expected a JSON object at the top level", source);
    else
        rc = read_config(&(struct reader) { root, source, err }, out);
    cJSON_Delete(root);
    return rc;
}

int jb_config_load(const char *path, const char *name, struct jb_config *out, struct jb_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return jb_fail(err, JB_ENOENT, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    int rc = 0;
    do {
        if (len + 4096 > cap) {
            cap = cap ? 2 * cap : 16384;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = jb_fail(err, JB_ENOMEM, "%s: out of memory reading the file", path);
                goto out;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0 && len <= (1u << 24));
    if (ferror(f) || len > (1u << 24)) {
        rc = jb_fail(err, JB_EIO, "%s: %s", path, ferror(f) ? "read error" : "larger than 16 MiB");
        goto out;
    }
    rc = jb_config_parse(buf, len, path, out, err);
    if (rc == 0)
        snprintf(out->name, sizeof out->name, "%s", name ? name : "");
out:
    free(buf);
    fclose(f);
    return rc;
}

int64_t jb_config_params(const struct jb_config *c)
{
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    int64_t layer = 2 * d          /* input and post-attention norms */
        + (q + 2 * kv) * d + q * d /* q, k, v, o projections */
        + 3 * f * d;               /* gate, up, down */
    if (c->qkv_bias)
        layer += q + 2 * kv;
    if (c->o_bias)
        layer += d;
    if (c->mlp_bias)
        layer += 2 * f + d;
    int64_t total = c->vocab_size * d + c->n_layers * layer + d;
    if (!c->tie_word_embeddings)
        total += c->vocab_size * d;
    return total;
}
