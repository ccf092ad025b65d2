/*
 * loader.c — what every command does before running a model: resolve the folder, read the
 * config, refuse plainly when weights + KV cache + activations exceed the memory available
 * (naming both figures and the way out), and only then allocate.
 */
#include "jb_run.h"

#include <omp.h>
#include <string.h>

int jb_load(struct jb_loaded *L, const struct jb_load_opts *o, struct jb_err *err)
{
    memset(L, 0, sizeof *L);
    int rc = jb_model_config(o->model, &L->cfg, L->dir, sizeof L->dir, err);
    if (rc)
        return rc;
    const int64_t ctx = o->ctx > 0 ? o->ctx : L->cfg.max_position_embeddings;
    if (ctx > L->cfg.max_position_embeddings)
        return jb_fail(err, JB_ERANGE,
            "%s: a context of %lld positions exceeds the model's "
            "max_position_embeddings (%lld)",
            L->cfg.name, (long long)ctx, (long long)L->cfg.max_position_embeddings);
    const int64_t batch = o->batch_tokens > 0 ? o->batch_tokens : 1;
    const int64_t n_seqs = o->n_seqs > 0 ? o->n_seqs : 1;
    jb_mem_plan(&L->cfg, o->dtype, n_seqs, ctx, batch, omp_get_max_threads(), &L->plan);
    if ((rc = jb_mem_check(&L->cfg, o->dtype, &L->plan, err)))
        return rc;

    const struct jb_model_opts mo = { o->dtype, o->seed, o->ops, o->random_weights };
    if ((rc = jb_model_init(&L->model, &L->cfg, L->dir, &mo, err)))
        return rc;
    if ((rc = jb_state_init(&L->state, &L->model, n_seqs, ctx, batch, err)))
        jb_model_free(&L->model);
    return rc;
}

void jb_unload(struct jb_loaded *L)
{
    jb_state_free(&L->state);
    jb_model_free(&L->model);
}
