/*
 * loader.c — what every command does before running a model: resolve the folder (NAMEs under
 * $JOULEBENCH_MODELS_DIR), read the config, refuse plainly when weights + KV cache +
 * activations exceed the memory available (under $JOULEBENCH_MEM_LIMIT), naming both figures
 * and the way out, and only then allocate. The engine gives the facts; the words are here.
 */
#include "jb_run.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *jb_models_dir(void)
{
    const char *env = getenv("JOULEBENCH_MODELS_DIR");
    return env && *env ? env : JB_SOURCE_DIR "/models";
}

int jb_models_ladder(struct jb_model_list *out, struct jb_err *err)
{
    const int rc = jb_models_list(jb_models_dir(), out, err);
    for (int i = 0; i < out->n_skipped; i++)
        jb_errorf("skipping model %s: %s", out->skipped[i].name, out->skipped[i].msg);
    return rc;
}

/* The digits at *p as a number (saturating at UINT64_MAX past 64 bits); *p moves past them. */
static uint64_t digits(const char **p, int *count)
{
    uint64_t v = 0;
    for (*count = 0; **p >= '0' && **p <= '9'; (*p)++, (*count)++)
        if (__builtin_mul_overflow(v, 10, &v)
            || __builtin_add_overflow(v, (uint64_t)(**p - '0'), &v))
            v = UINT64_MAX;
    return v;
}

int jb_parse_size(const char *s, uint64_t *bytes)
{
    static const char units[] = "KMGT";
    const char *p = s;
    int n_whole, n_frac = 0, shift = 0;
    *bytes = 0;
    const uint64_t whole = digits(&p, &n_whole);
    uint64_t frac = 0, frac_den = 1;
    if (n_whole == 0)
        return JB_EINVAL;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, n_frac++)
            if (n_frac < 18) { /* finer than 10^-18 of a unit is below a byte */
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_den *= 10;
            }
        if (n_frac == 0)
            return JB_EINVAL;
    }
    for (int i = 0; units[i] && !shift; i++)
        if (*p == units[i] || *p == units[i] + ('a' - 'A')) { /* either case */
            shift = 10 * (i + 1);
            p++;
        }
    if (*p || (n_frac && !shift)) /* trailing text, or a fraction of a byte */
        return JB_EINVAL;
    if (whole == UINT64_MAX || (shift && whole >> (64 - shift)))
        return JB_ERANGE;
    const uint64_t part = (uint64_t)(((unsigned __int128)frac << shift) / frac_den);
    if (__builtin_add_overflow(whole << shift, part, bytes))
        return JB_ERANGE;
    return 0;
}

int jb_mem_limit(uint64_t *bytes, struct jb_err *err)
{
    const char *v = getenv("JOULEBENCH_MEM_LIMIT");
    *bytes = 0;
    if (!v || !*v)
        return 0;
    int rc = jb_parse_size(v, bytes);
    if (rc == 0 && *bytes > 0)
        return 0;
    *bytes = 0;
    return jb_fail(err, rc ? rc : JB_EINVAL,
        "JOULEBENCH_MEM_LIMIT: \"%s\" is %s (expected a whole number of bytes above 0, or a "
        "number with a K, M, G or T suffix, powers of 1024: 512M, 8G, 1.5T)",
        v, rc == JB_ERANGE ? "too large (16 EiB at most)" : "not a memory size");
}

/* The plan of c run with k of its layers (k = n_layers: the whole model): p's sequences,
 * positions and forward-call tokens on `threads` threads. */
static void plan_layers(const struct jb_config *c, int64_t k, enum jb_dtype t,
    const struct jb_mem_plan *p, int threads, struct jb_mem_plan *out)
{
    struct jb_config s = *c;
    s.layers_run = k < c->n_layers ? k : 0;
    jb_mem_plan(&s, t, p->n_seqs, p->ctx, p->batch_tokens, threads, out);
}

/* The way out of a refusal: a smaller storage type when the weights are what does not fit,
 * else less KV cache, else another model or machine; and layer sampling when it would fit. */
static void word_way_out(const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p,
    const struct jb_mem_fit *f, bool can_sample, char *buf, size_t len)
{
    const uint64_t q8 = f->weight_bytes[JB_DTYPE_Q8_0], bf = f->weight_bytes[JB_DTYPE_BF16];
    char size[JB_FMT_BYTES_LEN];
    struct jb_mem_plan two; /* the fewest layers sampling runs */
    bool sampling_fits = can_sample && c->n_layers > 2 && !jb_config_sampled(c);
    if (sampling_fits) {
        plan_layers(c, 2, t, p, omp_get_max_threads(), &two);
        sampling_fits = !f->available_bytes || two.total_bytes <= f->available_bytes;
    }
    if (can_sample && jb_config_sampled(c)) {
        snprintf(buf, len,
            "try fewer layers (--layers auto runs the most that fit, with a %d%% margin)",
            JB_LAYERS_MARGIN_PCT);
        return;
    }
    if (sampling_fits && !f->fits_as[JB_DTYPE_Q8_0]) {
        snprintf(buf, len,
            "try --layers auto: it runs a sample of the model's %lld layers that fits and "
            "extrapolates time and energy to all of them",
            (long long)c->n_layers);
        return;
    }
    if (f->fits_as[JB_DTYPE_Q8_0] && t != JB_DTYPE_Q8_0) {
        bool bf_fits = t == JB_DTYPE_F32 && f->fits_as[JB_DTYPE_BF16];
        snprintf(buf, len, "try %s (weights %s)", bf_fits ? "--dtype bf16" : "--dtype q8_0",
            jb_fmt_bytes(bf_fits ? bf : q8, size, sizeof size));
    } else if (f->fits_as[JB_DTYPE_Q4_0] && t != JB_DTYPE_Q4_0 && t != JB_DTYPE_Q4_K) {
        snprintf(buf, len, "try --dtype q4_0 (weights %s)",
            jb_fmt_bytes(f->weight_bytes[JB_DTYPE_Q4_0], size, sizeof size));
    } else if (p->weight_bytes + p->act_bytes < f->available_bytes && p->kv_bytes > 0) {
        snprintf(buf, len,
            "try a shorter context or fewer sequences (the KV cache takes %s per position)",
            jb_fmt_bytes((uint64_t)llround(f->kv_bytes_per_pos), size, sizeof size));
    } else {
        snprintf(buf, len,
            "even its q8_0 weights (%s) exceed that: use a smaller model or a machine with more "
            "memory",
            jb_fmt_bytes(q8, size, sizeof size));
    }
    if (sampling_fits) {
        const size_t n = strlen(buf);
        snprintf(buf + n, len - n, ", or --layers auto (a sample of its %lld layers, extrapolated)",
            (long long)c->n_layers);
    }
}

static int fit_check(const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p,
    bool can_sample, struct jb_err *err)
{
    struct jb_mem_fit fit;
    struct jb_err facts;
    uint64_t limit;
    int rc = jb_mem_limit(&limit, err);
    if (rc)
        return rc;
    rc = jb_mem_check(c, t, p, jb_mem_available_bytes(limit), &fit, &facts);
    if (rc == 0)
        return 0;
    if (rc != JB_ETOOBIG)
        return jb_fail(err, rc, "%s", facts.msg);
    char way_out[384];
    word_way_out(c, t, p, &fit, can_sample, way_out, sizeof way_out);
    return jb_fail(err, JB_ETOOBIG, "%s; %s", facts.msg, way_out);
}

int jb_fit_check(
    const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p, struct jb_err *err)
{
    return fit_check(c, t, p, false, err);
}

int jb_fit_check_sampling(
    const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p, struct jb_err *err)
{
    return fit_check(c, t, p, true, err);
}

int jb_layers_auto(struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t batch_tokens, int threads, struct jb_err *err)
{
    struct jb_mem_plan p;
    struct jb_err why;
    c->layers_run = 0;
    jb_mem_plan(c, t, n_seqs, ctx, batch_tokens, threads, &p);
    int rc = jb_fit_check_sampling(c, t, &p, &why);
    if (rc != JB_ETOOBIG) /* fits whole, or bad input */
        return rc ? jb_fail(err, rc, "%s", why.msg) : 0;
    uint64_t limit;
    if ((rc = jb_mem_limit(&limit, err)))
        return rc;
    const uint64_t avail = jb_mem_available_bytes(limit);
    const uint64_t budget = avail - avail / 100 * JB_LAYERS_MARGIN_PCT;
    const struct jb_mem_plan whole = p;
    for (int64_t k = c->n_layers - 1; k >= 2; k--) { /* k = 2 last: its plan is refused below */
        plan_layers(c, k, t, &whole, threads, &p);
        if (p.total_bytes <= budget) {
            c->layers_run = k;
            return 0;
        }
    }
    char need[JB_FMT_BYTES_LEN], w[JB_FMT_BYTES_LEN], kv[JB_FMT_BYTES_LEN], act[JB_FMT_BYTES_LEN],
        have[JB_FMT_BYTES_LEN], left[JB_FMT_BYTES_LEN];
    return jb_fail(err, JB_ETOOBIG,
        "%s in %s does not fit even with 2 of its %lld layers (--layers auto): needs %s "
        "(weights %s + KV cache %s + activations %s) but only %s is available, %s after the "
        "%d%% margin; %s",
        c->name, jb_dtype_name(t), (long long)c->n_layers, jb_fmt_bytes(p.total_bytes, need, 24),
        jb_fmt_bytes(p.weight_bytes, w, sizeof w), jb_fmt_bytes(p.kv_bytes, kv, sizeof kv),
        jb_fmt_bytes(p.act_bytes, act, sizeof act), jb_fmt_bytes(avail, have, sizeof have),
        jb_fmt_bytes(budget, left, sizeof left), JB_LAYERS_MARGIN_PCT,
        t != JB_DTYPE_Q8_0
            ? "try --dtype q8_0, a shorter context or fewer sequences"
            : "try a shorter context, fewer sequences or a machine with more memory");
}

int jb_load(struct jb_loaded *L, const struct jb_load_opts *o, struct jb_err *err)
{
    memset(L, 0, sizeof *L);
    uint64_t limit;
    int rc = jb_mem_limit(&limit, err);
    if (rc
        || (rc = jb_model_config(jb_models_dir(), o->model, &L->cfg, L->dir, sizeof L->dir, err)))
        return rc;
    if (o->layers > 0 && (rc = jb_config_sample_layers(&L->cfg, o->layers, err)))
        return rc;
    const int64_t ctx = o->ctx > 0 ? o->ctx : L->cfg.max_position_embeddings;
    if (ctx > L->cfg.max_position_embeddings)
        return jb_fail(err, JB_ERANGE,
            "%s: a context of %lld positions exceeds the model's "
            "max_position_embeddings (%lld)%s%s%s",
            L->cfg.name, (long long)ctx, (long long)L->cfg.max_position_embeddings,
            o->ctx_why ? " (" : "", o->ctx_why ? o->ctx_why : "", o->ctx_why ? ")" : "");
    const int64_t batch = o->batch_tokens > 0 ? o->batch_tokens : 1;
    const int64_t n_seqs = o->n_seqs > 0 ? o->n_seqs : 1;
    jb_mem_plan(&L->cfg, o->dtype, n_seqs, ctx, batch, omp_get_max_threads(), &L->plan);
    if ((rc = jb_fit_check(&L->cfg, o->dtype, &L->plan, err)))
        return rc;

    const struct jb_model_opts mo = { .dtype = o->dtype,
        .seed = o->seed,
        .ops = o->ops,
        .random_weights = o->random_weights,
        .mem_limit_bytes = limit };
    if ((rc = jb_model_init(&L->model, &L->cfg, L->dir, &mo, err)))
        return rc;
    if ((rc = jb_state_init(&L->state, &L->model, n_seqs, ctx, batch, err)))
        jb_model_free(&L->model);
    return rc;
}

enum jb_dtype jb_default_dtype(const char *model)
{
    struct jb_config c;
    struct jb_err ignored;
    enum jb_dtype t = JB_DTYPE_F32;
    if (jb_gguf_path(model) && jb_gguf_config(model, &c, &t, &ignored) != 0)
        t = JB_DTYPE_F32;
    return t;
}

void jb_unload(struct jb_loaded *L)
{
    jb_state_free(&L->state);
    jb_model_free(&L->model);
}
